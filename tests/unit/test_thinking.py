"""`reasoning_effort` to each vendor's thinking controls, and signed reasoning in history: the
pure mappings of `anthropic/thinking.py` and `gemini/thinking.py` (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest

from ideaforge_gateway.adapters.anthropic.thinking import answer_thinking, history_blocks, model_version
from ideaforge_gateway.adapters.anthropic.wire import WireContentBlock
from ideaforge_gateway.adapters.anthropic.wire import request_to_wire as anthropic_body
from ideaforge_gateway.adapters.gemini.thinking import model_parts, thinking_config
from ideaforge_gateway.adapters.gemini.wire import contents_to_wire
from ideaforge_gateway.adapters.reasoning import ParameterConflict
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ChatRequest, ToolCall


def claude(model: str, **extra: Any) -> dict[str, Any]:
    request = ChatRequest(model, [ChatMessage("user", "hi")], ChatOptions(extra=extra))
    return anthropic_body(request, stream=False)


@pytest.mark.parametrize(
    ("model", "version"),
    [
        ("claude-sonnet-4-5-20250929", (4, 5)),
        ("claude-3-7-sonnet-20250219", (3, 7)),
        ("claude-opus-4-20250514", (4, 0)),
        ("claude-opus-4-7", (4, 7)),
        ("claude-sonnet-5", (5, 0)),
        ("my-alias", None),
    ],
)
def test_claude_versions_are_read_from_the_model_id(model: str, version: tuple[int, int] | None) -> None:
    assert model_version(model) == version


def test_claude_4_7_and_later_think_adaptively_with_an_effort() -> None:
    body = claude("claude-opus-4-7", reasoning_effort="minimal")
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "low"}
    assert claude("claude-sonnet-5", reasoning_effort="max")["output_config"] == {"effort": "max"}


def test_budget_models_refuse_the_adaptive_only_efforts_and_old_models_refuse_thinking() -> None:
    with pytest.raises(ParameterConflict) as refused:
        claude("claude-sonnet-4-5-20250929", reasoning_effort="xhigh")
    assert refused.value.param == "reasoning_effort"
    with pytest.raises(ParameterConflict):
        claude("claude-3-5-haiku-20241022", reasoning_effort="low")
    assert "thinking" not in claude("claude-3-5-haiku-20241022", reasoning_effort="none")


def test_an_unknown_effort_is_refused_by_name() -> None:
    with pytest.raises(ParameterConflict) as refused:
        claude("claude-sonnet-4-5-20250929", reasoning_effort="lots")
    assert refused.value.param == "reasoning_effort"


def test_thinking_blocks_of_an_answer_keep_their_signatures_and_redacted_data() -> None:
    blocks = [
        WireContentBlock(type="thinking", thinking="a ", signature="s1"),
        WireContentBlock(type="redacted_thinking", data="opaque"),
        WireContentBlock(type="thinking", thinking="b", signature="s2"),
        WireContentBlock(type="text", text="answer"),
    ]
    reasoning, kept = answer_thinking(blocks)
    assert reasoning == "a b"
    assert kept == (
        {"type": "thinking", "thinking": "a ", "signature": "s1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "thinking", "thinking": "b", "signature": "s2"},
    )


def test_history_takes_only_the_two_thinking_block_shapes() -> None:
    good = ({"type": "thinking", "thinking": "t", "signature": "s", "extra": 1},)
    assert history_blocks(ChatMessage("assistant", "x", thinking_blocks=good)) == [
        {"type": "thinking", "thinking": "t", "signature": "s"}
    ]
    with pytest.raises(ParameterConflict) as refused:
        history_blocks(ChatMessage("assistant", "x", thinking_blocks=({"type": "text", "text": "t"},)))
    assert refused.value.param == "thinking_blocks"


@pytest.mark.parametrize(
    ("model", "effort", "config"),
    [
        ("gemini-3-pro-preview", "medium", {"includeThoughts": True, "thinkingLevel": "HIGH"}),
        ("gemini-3-pro-preview", "none", {"includeThoughts": False, "thinkingLevel": "LOW"}),
        ("gemini-3-flash-preview", "minimal", {"includeThoughts": True, "thinkingLevel": "MINIMAL"}),
        ("gemini-3-flash-preview", "medium", {"includeThoughts": True, "thinkingLevel": "MEDIUM"}),
        ("gemini-2.5-flash", "none", {"includeThoughts": False, "thinkingBudget": 0}),
        ("gemini-2.5-flash", "medium", {"includeThoughts": True, "thinkingBudget": 8192}),
        ("models/gemini-2.5-pro", "high", {"includeThoughts": True, "thinkingBudget": 24576}),
        ("gemini-2.0-flash", "none", None),
    ],
)
def test_gemini_thinking_config_follows_googles_own_mapping(model: str, effort: str, config: object) -> None:
    assert thinking_config(model, {"reasoning_effort": effort}) == config


@pytest.mark.parametrize(
    ("model", "effort"),
    [("gemini-2.5-pro", "none"), ("gemini-2.0-flash", "low"), ("gemma-3-27b-it", "high"), ("gemini-3-pro", "max")],
)
def test_gemini_refuses_what_the_model_cannot_do(model: str, effort: str) -> None:
    with pytest.raises(ParameterConflict) as refused:
        thinking_config(model, {"reasoning_effort": effort})
    assert refused.value.param == "reasoning_effort"


def test_a_gemini_model_turn_carries_its_thought_text_and_signatures_back() -> None:
    google = {"google": {"thought_signature": "sig-call"}}
    message = ChatMessage(
        "assistant",
        "Checking.",
        tool_calls=(ToolCall("call_a", "f", '{"x": 1}', extra_content=google), ToolCall("call_b", "g", "{}")),
        reasoning_content="hmm",
        extra_content={"google": {"thought_signature": "sig-text"}},
    )
    assert model_parts(message) == [
        {"text": "hmm", "thought": True},
        {"text": "Checking.", "thoughtSignature": "sig-text"},
        {"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": "sig-call"},
        {"functionCall": {"name": "g", "args": {}}},
    ]


def test_gemini_function_responses_follow_the_order_of_the_calls() -> None:
    # Gemini matches responses to calls by name and order; a client may answer in any order.
    calls = (ToolCall("call_1", "f", "{}"), ToolCall("call_2", "g", "{}"))
    messages = [
        ChatMessage("user", "go"),
        ChatMessage("assistant", None, tool_calls=calls),
        ChatMessage("tool", "from g", tool_call_id="call_2"),
        ChatMessage("tool", "from f", tool_call_id="call_1"),
    ]
    _, contents = contents_to_wire(messages)
    assert [p["functionResponse"]["name"] for p in contents[2]["parts"]] == ["f", "g"]
    assert contents[2]["parts"][0]["functionResponse"]["response"] == {"content": "from f"}
