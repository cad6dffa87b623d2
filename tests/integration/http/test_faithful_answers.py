"""What the provider answered is what the client gets (issue 13): the official `openai` SDK
against `/v1`, over an OpenAI-compatible loopback upstream whose answers hold every field
(`tests/support/fake_openai_full.py`), gets `logprobs`, `refusal`, `annotations`,
`system_fingerprint`, `service_tier`, usage details and `n` choices, whole and streamed; the
gateway keeps its own `id`, `created` and headers. `n` above 1 to Anthropic is refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.support.app import container_for
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_openai_full import ANNOTATIONS, FINGERPRINT, REFUSAL, FakeOpenAIFull
from tests.support.live_server import LiveServer

KEY = "sk-full"


@pytest.fixture
def upstream() -> Iterator[FakeOpenAIFull]:
    with FakeOpenAIFull(api_key=KEY) as server:
        yield server


@pytest.fixture
def server(tmp_path: Path, upstream: FakeOpenAIFull) -> Iterator[LiveServer]:
    container = container_for(
        tmp_path,
        openai_api_key=KEY,
        openai_base_url=f"{upstream.url}/v1",
        ideaforge_allow_private_base_urls=True,
    )
    with LiveServer(container) as live:
        yield live


@pytest.fixture
def sdk(server: LiveServer) -> openai.OpenAI:
    token = server.create_user("alice")
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0, timeout=30)


HELLO = [{"role": "user", "content": "hello"}]


def test_every_field_and_choice_of_the_answer_reaches_the_sdk(sdk: openai.OpenAI, upstream: FakeOpenAIFull) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="gpt-full",
        messages=HELLO,
        n=2,
        logprobs=True,
        top_logprobs=1,
        seed=3,  # type: ignore[arg-type]
    )
    answer = raw.parse()

    sent = upstream.state.bodies[-1]
    assert (sent["n"], sent["logprobs"], sent["top_logprobs"], sent["seed"]) == (2, True, 1, 3)
    assert [(c.index, c.message.content, c.finish_reason) for c in answer.choices] == [
        (0, "answer 0", "stop"),
        (1, "answer 1", "stop"),
    ]
    for choice in answer.choices:
        assert choice.logprobs is not None and choice.logprobs.content is not None
        token = choice.logprobs.content[0]
        assert token.token == f"answer {choice.index}" and token.logprob == -0.25
        assert token.top_logprobs[0].token == token.token
        assert choice.message.refusal is None
        assert [a.model_dump(exclude_none=True) for a in choice.message.annotations or []] == ANNOTATIONS
    assert answer.system_fingerprint == FINGERPRINT and answer.service_tier == "default"
    usage = answer.usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (12, 9, 21)
    assert usage.completion_tokens_details is not None and usage.completion_tokens_details.reasoning_tokens == 5
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 4
    # The gateway's own: its id (not the upstream's), the model that answered, who answered.
    assert answer.id.startswith("chatcmpl-") and answer.id != "chatcmpl-upstream"
    assert answer.model == "gpt-full" and answer.object == "chat.completion"
    assert raw.headers["x-ideaforge-provider"] == "openai" and raw.headers["x-ideaforge-attempts"] == "1"


def test_a_refusal_reaches_the_sdk(sdk: openai.OpenAI) -> None:
    answer = sdk.chat.completions.create(model="gpt-full", messages=[{"role": "user", "content": "please refuse"}])
    assert answer.choices[0].message.refusal == REFUSAL
    assert answer.choices[0].message.content is None


def test_a_stream_brings_every_choice_logprobs_and_usage_details(sdk: openai.OpenAI, upstream: FakeOpenAIFull) -> None:
    chunks = list(
        sdk.chat.completions.create(
            model="gpt-full",
            messages=HELLO,  # type: ignore[arg-type]
            n=2,
            logprobs=True,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert upstream.state.bodies[-1]["n"] == 2 and upstream.state.bodies[-1]["logprobs"] is True
    texts = {i: "".join(c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].index == i)
             for i in (0, 1)}  # fmt: skip
    assert texts == {0: "answer 0", 1: "answer 1"}
    tokens = [
        t.token for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content or []
    ]
    assert sorted(tokens) == sorted(["answer", "answer", " 0", " 1"])
    finishes = sorted(
        (c.choices[0].index, c.choices[0].finish_reason) for c in chunks if c.choices and c.choices[0].finish_reason
    )
    assert finishes == [(0, "stop"), (1, "stop")]
    roles = [(c.choices[0].index, c.choices[0].delta.role) for c in chunks if c.choices and c.choices[0].delta.role]
    assert roles == [(0, "assistant"), (1, "assistant")]
    assert all(c.system_fingerprint == FINGERPRINT for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id != "chatcmpl-upstream"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens == 21
    assert (
        last.usage.completion_tokens_details is not None and last.usage.completion_tokens_details.reasoning_tokens == 5
    )
    assert last.usage.prompt_tokens_details is not None and last.usage.prompt_tokens_details.cached_tokens == 4


def test_a_streamed_refusal_reaches_the_sdk(sdk: openai.OpenAI) -> None:
    chunks = list(
        sdk.chat.completions.create(
            model="gpt-full", messages=[{"role": "user", "content": "refuse this"}], stream=True
        )
    )
    refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks if c.choices)
    assert refusal == "answer 0"  # the fake streams its refusal text in `refusal` deltas
    assert not any(c.choices[0].delta.content for c in chunks if c.choices)


def test_n_above_one_is_refused_by_name_by_anthropic(tmp_path: Path) -> None:
    with FakeAnthropic() as anthropic:
        container = container_for(
            tmp_path,
            anthropic_api_key=anthropic.state.api_key,
            anthropic_base_url=anthropic.url,
            ideaforge_allow_private_base_urls=True,
        )
        with LiveServer(container) as live:
            client = openai.OpenAI(base_url=f"{live.url}/v1", api_key=live.create_user("bob"), max_retries=0)
            with pytest.raises(openai.BadRequestError) as caught:
                client.chat.completions.create(model="fast", messages=HELLO, n=2)  # type: ignore[arg-type]
        assert anthropic.state.message_requests == 0
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "n"
    assert "'n'" in body["message"] and "Anthropic" in body["message"]
