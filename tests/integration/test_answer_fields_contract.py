"""The OpenAI-compatible wire format keeps every field of the upstream's answer (issue 13): the
provider over the transport, against a loopback upstream whose answers hold them all, whole and
streamed. What `/v1` makes of them is `tests/integration/http/test_faithful_answers.py`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ideaforge_gateway.adapters.http.token_auth import TokenSourceAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_llm_provider import HttpLLMProvider
from ideaforge_gateway.adapters.openai_compat.wire import OpenAIChatCompletionsFormat
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ChatRequest, ProviderName
from tests.integration.test_wire_format_contract import Tokens
from tests.support.fake_openai_full import ANNOTATIONS, FINGERPRINT, REFUSAL, USAGE, FakeOpenAIFull, logprobs_for

DETAILS = {k: v for k, v in USAGE.items() if k.endswith("_details")}


@pytest.fixture
def upstream() -> Iterator[FakeOpenAIFull]:
    with FakeOpenAIFull(api_key="fresh") as server:
        yield server


def provider(upstream: FakeOpenAIFull, http: HttpTransport) -> HttpLLMProvider:
    return HttpLLMProvider(
        http,
        base_url=f"{upstream.url}/v1",
        auth=TokenSourceAuth(Tokens("fresh")),
        wire=OpenAIChatCompletionsFormat(ProviderName.AI_GATEWAY),
    )


def ask(text: str, **extra: object) -> ChatRequest:
    return ChatRequest("gpt-full", [ChatMessage("user", text)], ChatOptions(extra=extra))


async def test_a_whole_answer_keeps_every_choice_and_field(upstream: FakeOpenAIFull, http: HttpTransport) -> None:
    response = await provider(upstream, http).chat(ask("hello", n=2, logprobs=True))

    assert upstream.state.bodies[-1]["n"] == 2 and upstream.state.bodies[-1]["logprobs"] is True
    assert response.content == "answer 0"  # the first choice, for every caller that takes one
    for i, choice in enumerate(response.all_choices()):
        assert (choice.index, choice.content, choice.finish_reason) == (i, f"answer {i}", "stop")
        assert choice.extra == {"logprobs": logprobs_for(f"answer {i}")}
        assert choice.message_extra == {"refusal": None, "annotations": ANNOTATIONS}
    assert response.extra == {"system_fingerprint": FINGERPRINT, "service_tier": "default"}
    assert response.usage is not None and response.usage.details == DETAILS


async def test_a_refusal_is_kept(upstream: FakeOpenAIFull, http: HttpTransport) -> None:
    response = await provider(upstream, http).chat(ask("refuse"))
    assert response.content is None
    assert response.all_choices()[0].message_extra == {"refusal": REFUSAL, "annotations": ANNOTATIONS}


async def test_a_stream_keeps_each_choices_index_and_every_field(upstream: FakeOpenAIFull, http: HttpTransport) -> None:
    async with provider(upstream, http).stream(ask("hello", n=2, logprobs=True)) as deltas:
        received = [d async for d in deltas]

    texts = {i: "".join(d.content or "" for d in received if d.index == i) for i in (0, 1)}
    assert texts == {0: "answer 0", 1: "answer 1"}
    with_text = [d for d in received if d.content]
    assert all(d.choice_extra == {"logprobs": logprobs_for(d.content or "")} for d in with_text)
    assert all(d.chunk_extra == {"system_fingerprint": FINGERPRINT, "service_tier": "default"} for d in received)
    assert sorted((d.index, d.finish_reason) for d in received if d.finish_reason) == [(0, "stop"), (1, "stop")]
    (usage,) = [d.usage for d in received if d.usage is not None]
    assert usage.total_tokens == 21 and usage.details == DETAILS
