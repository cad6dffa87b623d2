"""Agno <-> domain mapping: messages, tools, tool-call fragments, usage, and errors Agno acts on."""

from __future__ import annotations

import json

import pytest
from agno.exceptions import ModelAuthenticationError, ModelProviderError, ModelRateLimitError
from agno.media import Video
from agno.models.fallback import FallbackConfig, get_fallback_models
from agno.models.message import Message
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.adapters.agno.ai_gateway_model import AIGatewayModel
from ideaforge_gateway.adapters.agno.mapping import (
    delta_to_agno,
    error_to_agno,
    merge_tool_call_fragments,
    messages_to_domain,
    response_to_agno,
    tools_to_domain,
)
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
    RateLimitedError,
    StreamInterruptedError,
)
from ideaforge_gateway.domain.models import (
    ChatMessage,
    ChatResponse,
    ProviderName,
    StreamDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)


def test_a_conversation_with_a_tool_round_trip() -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    messages = [
        Message(role="system", content="be brief"),
        Message(role="user", content=[{"type": "text", "text": "hi "}, "there"]),
        Message(role="assistant", content=None, tool_calls=[call]),
        Message(role="tool", content="42", tool_call_id="call_9", compressed_content="4"),
        Message(role="model", content="done"),
    ]
    assert messages_to_domain(messages) == [
        ChatMessage("system", "be brief"),
        ChatMessage("user", "hi there"),
        ChatMessage("assistant", None, tool_calls=(ToolCall("call_9", "f", '{"x": 1}'),)),
        ChatMessage("tool", "42", tool_call_id="call_9"),
        ChatMessage("assistant", "done"),
    ]
    assert messages_to_domain(messages[3:4], compressed=True)[0].content == "4"


def test_video_is_refused_not_dropped() -> None:
    with pytest.raises(InvalidRequestError, match="videos cannot be sent"):
        messages_to_domain([Message(role="user", content="look", videos=[Video(url="https://example.com/a.mp4")])])


def test_function_tools_become_tool_specs_and_builtins_are_refused() -> None:
    tools = [{"type": "function", "function": {"name": "f", "description": "does f", "parameters": {"type": "object"}}}]
    assert tools_to_domain(tools) == [ToolSpec("f", "does f", {"type": "object"})]
    assert tools_to_domain([{"type": "function", "function": {"name": "g"}}])[0].parameters["type"] == "object"
    with pytest.raises(InvalidRequestError, match="function tools"):
        tools_to_domain([{"type": "web_search"}])


def test_a_whole_answer_carries_tool_calls_usage_and_who_answered() -> None:
    answer = ChatResponse(
        ProviderName.OPENAI, "gpt-4o", None, (ToolCall("c1", "f", "{}"),), "tool_calls", Usage(3, 4, 7), "id-1"
    )
    parsed = response_to_agno(answer)
    assert parsed.tool_calls == [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    assert parsed.response_usage is not None
    assert (parsed.response_usage.input_tokens, parsed.response_usage.output_tokens) == (3, 4)
    assert parsed.provider_data == {"provider": "openai", "model": "gpt-4o", "id": "id-1"}


def test_reasoning_content_reaches_agno_and_goes_back_in_history() -> None:
    # Issue 13, case 6.
    answer = ChatResponse(ProviderName.OPENAI, "o3", "42", reasoning_content="Think first.")
    assert response_to_agno(answer).reasoning_content == "Think first."
    assert delta_to_agno(StreamDelta(reasoning_content="Think")).reasoning_content == "Think"
    history = [Message(role="assistant", content="42", reasoning_content="Think first.")]
    assert messages_to_domain(history)[0].reasoning_content == "Think first."


def test_an_empty_delta_has_no_content() -> None:
    assert delta_to_agno(StreamDelta(content="")).content is None
    assert delta_to_agno(StreamDelta(usage=Usage(1, 2, 3))).response_usage is not None


@given(
    calls=st.lists(
        st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=40), st.integers(min_value=1, max_value=5)),
        min_size=1,
        max_size=4,
    ),
    data=st.data(),
)
def test_streamed_fragments_merge_into_the_calls_that_were_split(
    calls: list[tuple[str, str, int]], data: st.DataObject
) -> None:
    queues: list[list[dict[str, object]]] = []
    for index, (name, arguments, pieces) in enumerate(calls):
        cuts = sorted(data.draw(st.lists(st.integers(0, len(arguments)), min_size=pieces - 1, max_size=pieces - 1)))
        parts = [arguments[a:b] for a, b in zip([0, *cuts], [*cuts, len(arguments)], strict=True)]
        deltas = [ToolCallDelta(index, f"id{index}" if n == 0 else None, name if n == 0 else None, part)
                  for n, part in enumerate(parts)]  # fmt: skip
        queues.append([delta_to_agno(StreamDelta(tool_calls=(d,))).tool_calls[0] for d in deltas])
    # Fragments of different calls may interleave; each call's own arrive in order.
    interleaved = []
    while any(queues):
        chosen = data.draw(st.sampled_from([i for i, queue in enumerate(queues) if queue]))
        interleaved.append(queues[chosen].pop(0))
    merged = merge_tool_call_fragments(interleaved)
    assert merged == [
        {"id": f"id{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
        for i, (name, arguments, _) in enumerate(calls)
    ]


def test_whole_calls_without_an_index_stay_whole_and_in_order() -> None:
    calls = [{"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}, {"id": "b", "function": {"name": "g"}}]
    merged = merge_tool_call_fragments(calls)
    assert [(c["id"], c["function"]["arguments"]) for c in merged] == [("a", json.dumps({"x": 1})), ("b", "")]


MODEL = AIGatewayModel()


@pytest.mark.parametrize(
    ("error", "retried_and_fallen_over"),
    [
        (RateLimitedError("slow down"), True),
        (ProviderUnavailableError("HTTP 503"), True),
        (GatewayError("odd"), True),
        (InvalidRequestError("bad"), False),
        (PermissionDeniedError("no"), False),
        (ModelNotFoundError("which?"), False),
        (ConfigurationError("set X"), False),
        (StreamInterruptedError("broke off"), False),
    ],
)
def test_agno_retries_and_falls_over_on_what_could_succeed_elsewhere(
    error: GatewayError, retried_and_fallen_over: bool
) -> None:
    mapped = error_to_agno(error, model_name="m", model_id="gpt-4o")
    assert isinstance(mapped, ModelProviderError) and str(mapped) == error.message
    classified = ModelProviderError.classify(mapped)
    assert MODEL._is_retryable_error(classified) is retried_and_fallen_over
    fallback = FallbackConfig(on_error=[MODEL])
    assert (get_fallback_models(fallback, classified) is not None) is retried_and_fallen_over
    assert isinstance(mapped, ModelRateLimitError) is isinstance(error, RateLimitedError)


def test_rejected_credentials_are_agnos_authentication_error() -> None:
    mapped = error_to_agno(AuthenticationError("rejected"), model_name="m", model_id="x")
    assert isinstance(mapped, ModelAuthenticationError) and not isinstance(mapped, ModelProviderError)
    assert mapped.status_code == 401
