"""`/v1`'s body, as `ChatCompletionBody` reads it: what OpenAI refuses is refused here by name,
and a message's untyped fields travel with it (forwarded or refused per wire format)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ideaforge_gateway.domain.policies.model_selection import MAX_MODEL_ID_LENGTH
from ideaforge_gateway.entrypoints.http.openai_schemas import ChatCompletionBody

HI = [{"role": "user", "content": "hi"}]


def body(**fields: Any) -> ChatCompletionBody:
    return ChatCompletionBody.model_validate({"model": "m", "messages": HI} | fields)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"n": 0}, "n"),
        ({"stream": "yes"}, "stream"),
        ({"model": "m" * (MAX_MODEL_ID_LENGTH + 1)}, "model"),
        ({"messages": [{"role": "tool", "content": "42"}]}, "tool_call_id"),
    ],
)
def test_what_openai_refuses_is_refused_naming_the_field(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        body(**fields)


def test_n_and_a_long_model_id_are_kept_as_given() -> None:
    parsed = body(model="m" * MAX_MODEL_ID_LENGTH, n=2)
    assert parsed.options().extra["n"] == 2
    assert "n" not in body().options().extra
    assert body(n=None).options().extra == {"n": None}  # as sent: a null asks nothing


def test_a_messages_untyped_fields_travel_with_it() -> None:
    sent = [{"role": "assistant", "content": None, "refusal": "no", "audio": None}, *HI]
    first = body(messages=sent).messages_domain()[0]
    assert first.extra == {"refusal": "no", "audio": None}
    assert body().messages_domain()[0].extra is None
