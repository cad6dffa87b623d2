"""`joined`: text deltas read together are handed on as one, but never at the cost of a field
(issue 13): not across choices, not when a delta carries logprobs or a refusal."""

from __future__ import annotations

from ideaforge_gateway.adapters.http_llm_provider import joined
from ideaforge_gateway.domain.models import StreamDelta

FP = {"system_fingerprint": "fp_1"}


def test_text_of_one_choice_is_joined_with_its_fields() -> None:
    deltas = [
        StreamDelta(content="a", model="m", chunk_extra=FP, choice_extra={"logprobs": None}),
        StreamDelta(content="b", model="m", chunk_extra=FP, choice_extra={"logprobs": None}),
    ]
    assert joined(deltas) == [StreamDelta(content="ab", model="m", chunk_extra=FP, choice_extra={"logprobs": None})]


def test_choices_are_never_joined_together() -> None:
    deltas = [StreamDelta(content="a", index=0), StreamDelta(content="b", index=1), StreamDelta(content="c", index=1)]
    assert [(d.index, d.content) for d in joined(deltas)] == [(0, "a"), (1, "bc")]


def test_deltas_with_logprobs_or_a_refusal_stay_apart() -> None:
    deltas = [
        StreamDelta(content="a", choice_extra={"logprobs": {"content": [{"token": "a"}]}}),
        StreamDelta(content="b", choice_extra={"logprobs": {"content": [{"token": "b"}]}}),
        StreamDelta(delta_extra={"refusal": "no"}),
        StreamDelta(delta_extra={"refusal": "pe"}),
    ]
    assert joined(deltas) == deltas


def test_different_chunk_fields_stay_apart() -> None:
    deltas = [StreamDelta(content="a", chunk_extra=FP), StreamDelta(content="b", chunk_extra={"obfuscation": "x"})]
    assert joined(deltas) == deltas


def test_a_null_only_field_is_not_content_but_a_refusal_is() -> None:
    assert not StreamDelta(content="", delta_extra={"refusal": None}, choice_extra={"logprobs": None}).has_content
    assert StreamDelta(delta_extra={"refusal": "no"}).has_content
