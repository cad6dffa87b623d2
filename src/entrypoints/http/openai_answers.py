"""`/v1`'s answers, in OpenAI's chat-completions shape, from the domain's answer and deltas.

What the provider answered is what the client gets (issue 13): every choice (`n`), with its
`index`, and every field an OpenAI-compatible upstream sent that the gateway does not interpret
(`logprobs`, `refusal`, `annotations`, `audio`, `system_fingerprint`, `service_tier`, usage
details such as `completion_tokens_details.reasoning_tokens`) is passed on as it came, at the
level it came at. The gateway's own fields are never taken from the upstream: `id` is the
gateway's completion id (one per request, the same in every chunk), `object` and `created` are
the gateway's, and `model` is the model that answered (as the upstream named it, else the one
asked). An upstream field of the same name as one the gateway writes never overrides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ideaforge_gateway.domain.models import ChatResponse, Choice, StreamDelta, Usage

ZERO_USAGE: Mapping[str, int] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def completion(completion_id: str, created: int, response: ChatResponse) -> dict[str, Any]:
    """The whole answer: every choice, usage (zeros when the upstream gave none), extras."""
    answer: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": response.model,
        "choices": [_choice(c) for c in response.all_choices()],
        "usage": usage(response.usage) or dict(ZERO_USAGE),
    }
    _add(answer, response.extra)
    return answer


def usage(value: Usage | None) -> dict[str, Any] | None:
    """The counts, then the upstream's usage details as it sent them."""
    if value is None:
        return None
    out: dict[str, Any] = {
        "prompt_tokens": value.prompt_tokens,
        "completion_tokens": value.completion_tokens,
        "total_tokens": value.total_tokens,
    }
    _add(out, value.details)
    return out


def chunk(completion_id: str, created: int, model: str, delta: StreamDelta, *, with_role: bool) -> dict[str, Any]:
    """One `chat.completion.chunk` for `delta`'s choice; `with_role` on that choice's first."""
    wire: dict[str, Any] = {}
    if with_role:
        wire["role"] = "assistant"
    if delta.reasoning_content:
        wire["reasoning_content"] = delta.reasoning_content
    if delta.thinking_blocks:
        wire["thinking_blocks"] = list(delta.thinking_blocks)
    if delta.extra_content:
        wire["extra_content"] = delta.extra_content
    if delta.content:
        wire["content"] = delta.content
    if delta.tool_calls:
        wire["tool_calls"] = [
            {
                "index": t.index,
                **({"id": t.id, "type": "function"} if t.id else {}),
                "function": {k: v for k, v in (("name", t.name), ("arguments", t.arguments)) if v is not None},
                **({"extra_content": t.extra_content} if t.extra_content else {}),
            }
            for t in delta.tool_calls
        ]
    _add(wire, delta.delta_extra)
    choice: dict[str, Any] = {"index": delta.index, "delta": wire, "finish_reason": delta.finish_reason}
    _add(choice, delta.choice_extra)
    out: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [choice],
    }
    _add(out, delta.chunk_extra)
    return out


def usage_chunk(completion_id: str, created: int, model: str, carrier: StreamDelta | None) -> dict[str, Any]:
    """The last chunk when the client asked for usage (`stream_options.include_usage`): no
    choices; the usage of `carrier` (the last delta that had some; null without one) and the
    upstream's own fields of the chunk that carried it."""
    out: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage(carrier.usage if carrier else None),
    }
    _add(out, carrier.chunk_extra if carrier else None)
    return out


def _choice(c: Choice) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": c.content}
    if c.reasoning_content is not None:
        message["reasoning_content"] = c.reasoning_content
    if c.thinking_blocks:
        message["thinking_blocks"] = list(c.thinking_blocks)
    if c.extra_content:
        message["extra_content"] = c.extra_content
    if c.tool_calls:
        message["tool_calls"] = [
            {"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}}
            | ({"extra_content": t.extra_content} if t.extra_content else {})
            for t in c.tool_calls
        ]
    _add(message, c.message_extra)
    out: dict[str, Any] = {"index": c.index, "message": message, "finish_reason": c.finish_reason or "stop"}
    _add(out, c.extra)
    return out


def _add(target: dict[str, Any], extra: Mapping[str, Any] | None) -> None:
    """`extra`'s fields into `target`, never over one the gateway wrote."""
    if extra:
        for key, value in extra.items():
            target.setdefault(key, value)
