"""Reasoning on Anthropic and Gemini through `/v1`, with the official `openai` SDK as the client
(issue 13, case 5 and the reasoning items): `reasoning_effort` reaches each vendor's thinking
controls, the reasoning text comes out as `reasoning_content`, and the signatures a vendor needs
on the next turn travel out and come back when the client appends the returned message to its
history, as the SDK's users do. The loopback fakes refuse history without the signatures they
issued, as the vendors do; tool-call ids are unique across a conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessage

from tests.support.app import container_for
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini
from tests.support.live_server import LiveServer

GEMINI_3 = "gemini-3-flash-preview"
CLAUDE = "claude-sonnet-4-5-20250929"
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


class Upstreams:
    def __init__(self, gemini: FakeGemini, anthropic: FakeAnthropic, client: openai.OpenAI) -> None:
        self.gemini, self.anthropic, self.client = gemini, anthropic, client


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Upstreams]:
    with FakeGemini(api_key="AIza-k13r") as gemini, FakeAnthropic(api_key="sk-ant-k13r") as anthropic:
        container = container_for(
            tmp_path,
            gemini_api_key="AIza-k13r",
            gemini_base_url=gemini.url,
            anthropic_api_key="sk-ant-k13r",
            anthropic_base_url=anthropic.url,
        )
        with LiveServer(container) as server:
            token = server.create_user("reasoner")
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0, timeout=30)
            yield Upstreams(gemini, anthropic, client)


def ask(up: Upstreams, model: str, messages: list[Any], **params: Any) -> ChatCompletionMessage:
    completion = up.client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL], **params)
    return completion.choices[0].message


def tool_result(message: ChatCompletionMessage, text: str) -> dict[str, Any]:
    assert message.tool_calls
    return {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": text}


def extra(obj: Any, name: str) -> Any:
    """A field the SDK does not declare but keeps (its models allow extra fields)."""
    return (obj.model_extra or {}).get(name)


# Gemini.
def test_a_gemini_3_tool_round_trip_keeps_the_thought_signature(up: Upstreams) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    called = ask(up, GEMINI_3, messages, reasoning_effort="low")

    sent = up.gemini.state.last_body
    assert sent is not None
    assert sent["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingLevel": "LOW"}
    assert called.tool_calls and called.tool_calls[0].function.name == "get_weather"
    (issued,) = up.gemini.state.issued
    assert extra(called.tool_calls[0], "extra_content") == {"google": {"thought_signature": issued}}
    assert extra(called, "reasoning_content") == "Considering the question."

    messages += [called, tool_result(called, "sunny")]  # the SDK's own object, appended as it is
    answered = ask(up, GEMINI_3, messages, reasoning_effort="low")

    assert answered.content == "The tool said: sunny"
    sent = up.gemini.state.last_body
    assert sent is not None
    model_turn = sent["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0] == {"text": "Considering the question.", "thought": True}
    assert model_turn["parts"][1]["functionCall"] == {"name": "get_weather", "args": {"city": "Paris"}}
    assert model_turn["parts"][1]["thoughtSignature"] == issued


def test_the_fake_refuses_a_gemini_3_function_call_without_its_signature(up: Upstreams) -> None:
    called = ask(up, GEMINI_3, [{"role": "user", "content": "Weather in Paris?"}])
    assert called.tool_calls
    unsigned = called.model_dump(exclude_unset=True)
    del unsigned["tool_calls"][0]["extra_content"]

    with pytest.raises(openai.BadRequestError, match="INVALID_ARGUMENT"):
        ask(up, GEMINI_3, [{"role": "user", "content": "Weather in Paris?"}, unsigned, tool_result(called, "sunny")])
    assert up.gemini.state.refusals[-1].startswith("Function call is missing a thought_signature")


def test_a_streamed_gemini_3_tool_call_carries_its_signature_and_round_trips(up: Upstreams) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    stream = up.client.chat.completions.create(
        model=GEMINI_3, messages=messages, tools=[WEATHER_TOOL], reasoning_effort="medium", stream=True
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    reasoning = "".join(extra(d, "reasoning_content") or "" for d in deltas)
    (call,) = [t for d in deltas for t in d.tool_calls or ()]
    assert reasoning == "Considering the question."
    assert extra(call, "extra_content") == {"google": {"thought_signature": up.gemini.state.issued[0]}}
    sent = up.gemini.state.last_body
    assert sent is not None and sent["generationConfig"]["thinkingConfig"]["thinkingLevel"] == "MEDIUM"

    assert call.id and call.function and call.function.name
    assistant = {
        "role": "assistant",
        "reasoning_content": reasoning,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
                "extra_content": extra(call, "extra_content"),
            }
        ],
    }
    messages += [assistant, {"role": "tool", "tool_call_id": call.id, "content": "rain"}]
    assert ask(up, GEMINI_3, messages).content == "The tool said: rain"


def test_tool_call_ids_are_unique_across_the_turns_of_a_conversation(up: Upstreams) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    ids = []
    for turn in range(2):
        called = ask(up, "gemini-2.5-flash", messages)
        assert called.tool_calls
        ids.append(called.tool_calls[0].id)
        messages += [called, tool_result(called, f"answer {turn}")]
        answered = ask(up, "gemini-2.5-flash", messages)
        assert answered.content == f"The tool said: answer {turn}"
        messages += [answered, {"role": "user", "content": "And tomorrow?"}]
    assert len(set(ids)) == 2 and all(i.startswith("call_") for i in ids)


def test_gemini_2_5_takes_a_thinking_budget_and_gemini_2_0_refuses_effort_by_name(up: Upstreams) -> None:
    up.client.chat.completions.create(
        model="gemini-2.5-pro", messages=[{"role": "user", "content": "hi"}], reasoning_effort="high"
    )
    sent = up.gemini.state.last_body
    assert sent is not None
    assert sent["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 24576}

    before = up.gemini.state.generate_requests
    with pytest.raises(openai.BadRequestError) as refused:
        up.client.chat.completions.create(
            model="gemini-2.0-flash", messages=[{"role": "user", "content": "hi"}], reasoning_effort="low"
        )
    assert refused.value.param == "reasoning_effort"
    assert up.gemini.state.generate_requests == before


# Anthropic.
def test_an_anthropic_thinking_tool_round_trip_sends_the_signed_blocks_back(up: Upstreams) -> None:
    up.anthropic.state.redacted = True
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    called = ask(up, CLAUDE, messages, reasoning_effort="low", max_completion_tokens=3000)

    sent = up.anthropic.state.last_body
    assert sent is not None
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["max_tokens"] == 3000
    issued = list(up.anthropic.state.issued)
    blocks = extra(called, "thinking_blocks")
    assert blocks == [
        {"type": "thinking", "thinking": up.anthropic.state.issued[issued[0]], "signature": issued[0]},
        {"type": "redacted_thinking", "data": issued[1]},
    ]
    assert extra(called, "reasoning_content") == blocks[0]["thinking"]

    messages += [called, tool_result(called, "sunny")]
    answered = ask(up, CLAUDE, messages, reasoning_effort="low", max_completion_tokens=3000)

    assert answered.content == "The tool said: sunny"
    sent = up.anthropic.state.last_body
    assert sent is not None
    assistant = sent["messages"][1]
    assert assistant["content"][:2] == blocks
    assert assistant["content"][2]["type"] == "tool_use"


def test_the_fake_refuses_a_thinking_tool_round_trip_without_the_thinking_blocks(up: Upstreams) -> None:
    question = {"role": "user", "content": "Weather in Paris?"}
    called = ask(up, CLAUDE, [question], reasoning_effort="low")
    stripped = called.model_dump(exclude_unset=True)
    del stripped["thinking_blocks"], stripped["reasoning_content"]

    with pytest.raises(openai.BadRequestError, match="invalid_request_error"):
        ask(up, CLAUDE, [question, stripped, tool_result(called, "sunny")], reasoning_effort="low")
    assert "must start with a thinking block" in up.anthropic.state.refusals[-1]

    forged = called.model_dump(exclude_unset=True)
    forged["thinking_blocks"][0]["thinking"] = "Something else."
    with pytest.raises(openai.BadRequestError, match="invalid_request_error"):
        ask(up, CLAUDE, [question, forged, tool_result(called, "sunny")], reasoning_effort="low")
    assert "Invalid `signature`" in up.anthropic.state.refusals[-1]


def test_reasoning_without_its_signed_blocks_is_refused_by_name_before_anthropic_is_asked(up: Upstreams) -> None:
    before = up.anthropic.state.message_requests
    history = [
        {"role": "user", "content": "why?"},
        {"role": "assistant", "content": "Because.", "reasoning_content": "unsigned thoughts"},
        {"role": "user", "content": "go on"},
    ]
    with pytest.raises(openai.BadRequestError) as refused:
        up.client.chat.completions.create(model=CLAUDE, messages=history)
    assert refused.value.param == "reasoning_content"
    assert up.anthropic.state.message_requests == before


def test_a_streamed_anthropic_answer_gives_reasoning_deltas_then_the_whole_signed_block(up: Upstreams) -> None:
    stream = up.client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "one two"}], reasoning_effort="medium", stream=True
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    reasoning = "".join(extra(d, "reasoning_content") or "" for d in deltas)
    blocks = [b for d in deltas for b in extra(d, "thinking_blocks") or ()]
    (signature,) = up.anthropic.state.issued
    assert reasoning == up.anthropic.state.issued[signature]
    assert blocks == [{"type": "thinking", "thinking": reasoning, "signature": signature}]
    assert "".join(d.content or "" for d in deltas) == "echo: one two"
    sent = up.anthropic.state.last_body
    assert sent is not None and sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["max_tokens"] == 2048 + 4096  # the default answer room on top of the budget


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"temperature": 0.3}, "temperature"),
        ({"top_p": 0.5}, "top_p"),
        ({"max_completion_tokens": 1000}, "max_completion_tokens"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"reasoning_effort": "xhigh"}, "reasoning_effort"),
    ],
)
def test_what_anthropic_refuses_with_thinking_is_a_400_naming_the_parameter(
    up: Upstreams, params: dict[str, Any], param: str
) -> None:
    effort = {"reasoning_effort": "low"} | params
    with pytest.raises(openai.BadRequestError) as refused:
        ask(up, CLAUDE, [{"role": "user", "content": "hi"}], **effort)
    assert refused.value.param == param
    assert up.anthropic.state.message_requests == 0


def test_the_answer_text_is_unchanged_by_thinking(up: Upstreams) -> None:
    completion = up.client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hello"}], reasoning_effort="none"
    )
    assert completion.choices[0].message.content == "echo: hello"
    sent = up.anthropic.state.last_body
    assert sent is not None and sent["thinking"] == {"type": "disabled"}
    assert extra(completion.choices[0].message, "thinking_blocks") is None
    assert json.loads(completion.model_dump_json())["choices"][0]["message"]["role"] == "assistant"
