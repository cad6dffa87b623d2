"""Agno <-> domain: messages, tools, answers, stream deltas, usage and errors, in one place.

Every Agno model this package offers speaks the domain through these functions, so the shapes
Agno expects (OpenAI-style tool-call dicts, `MessageMetrics`, its exception types) are decided
once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agno.exceptions import AgnoError, ModelAuthenticationError, ModelProviderError, ModelRateLimitError
from agno.metrics import MessageMetrics
from agno.models.message import Message
from agno.models.response import ModelResponse

from ideaforge_gateway.adapters.agno.media import has_media, media_parts
from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    CredentialUnreadableError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    StreamInterruptedError,
)
from ideaforge_gateway.domain.models import ChatMessage, ChatResponse, Role, StreamDelta, ToolCall, ToolSpec, Usage

_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "model": "assistant",
    "tool": "tool",
}

# The statuses Agno reads to decide on its own retries and fallback models: it retries and falls
# over on 429 and 5xx, and does neither on 400/403/404/422 (`Model._is_retryable_error`,
# `agno.models.fallback.get_fallback_models`).
_NEVER_AGAIN: dict[type[GatewayError], int] = {
    InvalidRequestError: 400,  # every provider would refuse it
    PermissionDeniedError: 403,
    ModelNotFoundError: 404,
    ConfigurationError: 422,  # an operator or the user must change something first
    CredentialUnreadableError: 422,
    StreamInterruptedError: 422,  # content was delivered: starting again would repeat it
}
_UNAVAILABLE = 503


# Requests.
def messages_to_domain(messages: Sequence[Message], *, compressed: bool = False) -> list[ChatMessage]:
    """The conversation as the domain's messages; images, audio and files become content parts
    (`agno.media`), and what cannot be sent raises `InvalidRequestError` naming it."""
    return [message_to_domain(m, compressed=compressed) for m in messages]


def message_to_domain(message: Message, *, compressed: bool = False) -> ChatMessage:
    role = _ROLES.get(message.role)
    if role is None:
        raise InvalidRequestError(f"messages with role {message.role!r} cannot be sent to a model")
    text = _text(message.get_content(use_compressed_content=compressed))
    parts = media_parts(message, role, text) if has_media(message) else ()
    return ChatMessage(
        role=role,
        content=None if parts else text,
        parts=parts,
        tool_calls=tuple(_tool_call_to_domain(c, i) for i, c in enumerate(message.tool_calls or ())),
        tool_call_id=message.tool_call_id if role == "tool" else None,
        name=message.name,
        reasoning_content=message.reasoning_content if role == "assistant" else None,
        **(_vendor_state(message.provider_data) if role == "assistant" else {}),
    )


def tools_to_domain(tools: Sequence[Mapping[str, Any]] | None) -> list[ToolSpec]:
    """Agno's function tools (`{"type": "function", "function": {...}}`) as `ToolSpec`s.

    Raises `InvalidRequestError` for a provider built-in tool (a dict of another type): the chain
    cannot promise that every provider has it.
    """
    specs = []
    for tool in tools or ():
        function = tool.get("function")
        if tool.get("type", "function") != "function" or not isinstance(function, Mapping):
            raise InvalidRequestError(f"only function tools can be used, not {tool.get('type')!r}")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        strict = function.get("strict")
        specs.append(
            ToolSpec(
                str(function["name"]),
                str(function.get("description") or ""),
                dict(parameters),
                strict=strict if isinstance(strict, bool) else None,
            )
        )
    return specs


def tool_choice_to_domain(choice: str | Mapping[str, Any] | None) -> str | dict[str, object] | None:
    return dict(choice) if isinstance(choice, Mapping) else choice


# Answers.
def response_to_agno(response: ChatResponse) -> ModelResponse:
    """A whole answer, with who answered in `provider_data` (Agno copies it to the run output)."""
    provider_data: dict[str, Any] = {"provider": response.provider.value, "model": response.model}
    if response.response_id:
        provider_data["id"] = response.response_id
    provider_data |= _vendor_state_to_agno(response.thinking_blocks, response.extra_content)
    return ModelResponse(
        role="assistant",
        content=response.content,
        reasoning_content=response.reasoning_content,
        tool_calls=[tool_call_to_agno(c) for c in response.tool_calls],
        response_usage=usage_to_agno(response.usage) if response.usage else None,
        provider_data=provider_data,
    )


def delta_to_agno(delta: StreamDelta) -> ModelResponse:
    """One streamed piece. Tool-call fragments keep their `index`: `merge_tool_call_fragments`
    puts them together once the stream has ended."""
    return ModelResponse(
        content=delta.content or None,
        reasoning_content=delta.reasoning_content or None,
        tool_calls=[
            {
                "index": part.index,
                "id": part.id,
                "type": "function",
                "function": {"name": part.name, "arguments": part.arguments},
            }
            | ({"extra_content": dict(part.extra_content)} if part.extra_content else {})
            for part in delta.tool_calls
        ],
        response_usage=usage_to_agno(delta.usage) if delta.usage else None,
        # Agno extends lists and replaces other values key by key across a stream's deltas.
        provider_data=_vendor_state_to_agno(delta.thinking_blocks, delta.extra_content) or None,
    )


def merge_tool_call_fragments(fragments: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Whole tool calls from streamed fragments: same `index`, same call; arguments concatenate,
    the first id and name seen win. Fragments without an index are whole calls, in order."""
    merged: dict[tuple[int, int], dict[str, Any]] = {}
    for position, fragment in enumerate(fragments):
        index = fragment.get("index")
        key = (0, int(index)) if index is not None else (1, position)
        function = fragment.get("function") or {}
        call = merged.setdefault(key, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        call["id"] = call["id"] or fragment.get("id")
        call["function"]["name"] = call["function"]["name"] or function.get("name") or ""
        call["function"]["arguments"] += _arguments(function.get("arguments"))
        if fragment.get("extra_content"):
            call["extra_content"] = fragment["extra_content"]
    return [merged[key] for key in sorted(merged)]


def tool_call_to_agno(call: ToolCall) -> dict[str, Any]:
    """Agno's tool-call dict; a call's vendor state (`extra_content`) rides along, as Agno hands
    tool-call dicts back unchanged on the next turn."""
    wire = {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
    return wire | ({"extra_content": dict(call.extra_content)} if call.extra_content else {})


def usage_to_agno(usage: Usage) -> MessageMetrics:
    return MessageMetrics(
        input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens, total_tokens=usage.total_tokens
    )


# Errors.
def error_to_agno(error: GatewayError, *, model_name: str | None, model_id: str) -> AgnoError:
    """Agno's exception for a domain error, so that Agno's own behaviour stays right.

    - `AuthenticationError` becomes `ModelAuthenticationError`: Agno neither retries it nor hides
      it behind a fallback model.
    - A rate limit becomes `ModelRateLimitError` (429); an unavailable provider, or the whole
      chain exhausted, `ModelProviderError` with 503: Agno may retry or fall over, as it would.
    - Errors that would recur (invalid request, permission, unknown model, configuration, a
      stream that broke after content) carry a status Agno never retries or falls over on.
    The message is the domain's, which never holds a secret.
    """
    if isinstance(error, AuthenticationError):
        return ModelAuthenticationError(error.message, status_code=401, model_name=model_name)
    if isinstance(error, RateLimitedError):
        return ModelRateLimitError(error.message, status_code=429, model_name=model_name, model_id=model_id)
    status = next((code for kind, code in _NEVER_AGAIN.items() if isinstance(error, kind)), _UNAVAILABLE)
    return ModelProviderError(error.message, status_code=status, model_name=model_name, model_id=model_id)


def _tool_call_to_domain(call: Mapping[str, Any], position: int) -> ToolCall:
    function = call.get("function") or {}
    extra_content = call.get("extra_content")
    return ToolCall(
        id=str(call.get("id") or f"call_{position}"),
        name=str(function.get("name") or ""),
        arguments=_arguments(function.get("arguments")),
        extra_content=dict(extra_content) if isinstance(extra_content, Mapping) else None,
    )


def _vendor_state_to_agno(
    thinking_blocks: Sequence[Mapping[str, Any]], extra_content: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What a vendor needs back next turn, kept in the assistant message's `provider_data`."""
    state: dict[str, Any] = {}
    if thinking_blocks:
        state["thinking_blocks"] = [dict(b) for b in thinking_blocks]
    if extra_content:
        state["extra_content"] = dict(extra_content)
    return state


def _vendor_state(provider_data: Mapping[str, Any] | None) -> dict[str, Any]:
    """`ChatMessage` fields from an assistant message's `provider_data` (see `_vendor_state_to_agno`)."""
    data = provider_data or {}
    blocks = data.get("thinking_blocks")
    extra_content = data.get("extra_content")
    return {
        "thinking_blocks": tuple(b for b in blocks if isinstance(b, Mapping)) if isinstance(blocks, list) else (),
        "extra_content": dict(extra_content) if isinstance(extra_content, Mapping) else None,
    }


def _arguments(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _text(content: object) -> str | None:
    """Message content as text: strings as they are, text parts of a list joined."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p if isinstance(p, str) else p.get("text") for p in content if isinstance(p, str | dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return json.dumps(content, default=str)
