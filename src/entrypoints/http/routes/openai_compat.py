"""An OpenAI-compatible `/v1` over the user's provider chain: any OpenAI client can use it.

Tier names (`fast`, `standard`, `premium`) work as model names. Headers on every answer say who
answered: `X-IdeaForge-Provider`, `X-IdeaForge-Model`, `X-IdeaForge-Attempts`. A stream falls
over before its first byte is sent, so a failure before content is a real HTTP error; a failure
after content ends the stream with an `error` event and no `[DONE]`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.application.use_cases.list_models import ListModelsRequest
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatResponse, StreamDelta, Tier
from ideaforge_gateway.entrypoints.container import Container
from ideaforge_gateway.entrypoints.http.body import documented_body, parse_body
from ideaforge_gateway.entrypoints.http.deps import (
    BEARER_SECURITY,
    ContainerDep,
    CurrentUser,
    authorization_check,
    client_address,
    user_for_authorization,
)
from ideaforge_gateway.entrypoints.http.errors import status_for
from ideaforge_gateway.entrypoints.http.openai_schemas import ChatCompletionBody
from ideaforge_gateway.entrypoints.http.presenters import header_value, sse, usage_dict
from ideaforge_gateway.entrypoints.http.schemas import V1_CHAT, V1_ERRORS
from ideaforge_gateway.entrypoints.http.streaming import ClosingStreamingResponse, aclose, bounded

router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses=V1_ERRORS)


@router.get("/models")
async def models(user: CurrentUser, container: ContainerDep) -> dict[str, Any]:
    """The tiers, then every model of the user's usable providers."""
    found = await container.list_models().execute(ListModelsRequest(user_id=user.id))
    data = [{"id": t.value, "object": "model", "created": 0, "owned_by": "ideaforge"} for t in Tier]
    seen = {t.value for t in Tier}
    for m in found:
        if m.id not in seen:
            seen.add(m.id)
            data.append({"id": m.id, "object": "model", "created": 0, "owned_by": m.provider.value})
    return {"object": "list", "data": data}


@router.post(
    "/chat/completions",
    response_model=None,
    responses=V1_CHAT,
    openapi_extra={"requestBody": documented_body(ChatCompletionBody), "security": BEARER_SECURITY},
)
async def chat_completions(raw: Request) -> Response:
    """The route every client call goes through, so it does its own parsing: one pydantic pass
    over the body's bytes and the bearer token read inline, where FastAPI's body field and
    dependencies cost a measurable share of the request's CPU (bench/analysis.md). The same
    checks and errors."""
    container: Container = raw.app.state.container
    user = await user_for_authorization(container, raw.headers.get("authorization"), client_address(raw))
    body = parse_body(ChatCompletionBody, await raw.body())
    request = GenerateRequest(body.messages_domain(), model=body.model, user_id=user.id, options=body.options())
    use_case = container.generate_reply()
    completion_id = f"chatcmpl-{secrets.token_hex(16)}"  # cheaper than uuid4 (bench/analysis.md)
    created = int(time.time())
    if not body.stream:
        generation = await use_case.execute(request)
        headers = _who(generation.response.provider.value, generation.response.model, len(generation.attempts))
        return JSONResponse(_completion(completion_id, created, generation.response), headers=headers)

    await use_case.prepare(request)
    stream = use_case.stream(request)
    deltas = stream.deltas.__aiter__()
    first = await anext(deltas, None)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    model = stream.model or body.model

    async def events() -> AsyncIterator[bytes]:
        usage = None
        delta: StreamDelta | None = first
        role_sent = False
        try:
            while delta is not None:
                usage = delta.usage or usage
                if delta.has_content or delta.finish_reason or not role_sent:
                    yield sse(_chunk(completion_id, created, model, delta, with_role=not role_sent))
                    role_sent = True
                delta = await anext(deltas, None)
        except GatewayError as exc:
            error = {"message": exc.message, "type": "api_error", "code": exc.kind}
            yield sse({"error": error, "status": status_for(exc)})
            return
        finally:
            await aclose(deltas)
        done = b"data: [DONE]\n\n"
        if include_usage:  # sent with [DONE]: one write for both
            done = sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                        "choices": [], "usage": usage_dict(usage)}) + done  # fmt: skip
        yield done

    provider = stream.provider.value if stream.provider else ""
    headers = {"Cache-Control": "no-cache", **_who(provider, model, len(stream.attempts))}
    still_authorized = authorization_check(container, raw.headers.get("authorization"))
    body_events = bounded(events(), container.stream_bounds(), still_authorized, _error_event)
    return ClosingStreamingResponse(body_events, media_type="text/event-stream", headers=headers)


def _error_event(message: str, kind: str) -> bytes:
    """The error event of this route's streams (no `[DONE]` follows it)."""
    status = 401 if kind == "unauthorized" else 503
    return sse({"error": {"message": message, "type": "api_error", "code": kind}, "status": status})


def _who(provider: str, model: str, attempts: int) -> dict[str, str]:
    """The headers that say who answered; `model` may be whatever an upstream said, so every
    value goes through `header_value`."""
    return {
        "X-IdeaForge-Provider": header_value(provider),
        "X-IdeaForge-Model": header_value(model),
        "X-IdeaForge-Attempts": str(attempts),
    }


def _tool_calls(response: ChatResponse) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        | ({"extra_content": c.extra_content} if c.extra_content else {})
        for c in response.tool_calls
    ]


def _completion(completion_id: str, created: int, response: ChatResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": response.content}
    if response.reasoning_content is not None:
        message["reasoning_content"] = response.reasoning_content
    if response.thinking_blocks:
        message["thinking_blocks"] = list(response.thinking_blocks)
    if response.extra_content:
        message["extra_content"] = response.extra_content
    if response.tool_calls:
        message["tool_calls"] = _tool_calls(response)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": response.model,
        "choices": [{"index": 0, "message": message, "finish_reason": response.finish_reason or "stop"}],
        "usage": usage_dict(response.usage) or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(completion_id: str, created: int, model: str, delta: StreamDelta, *, with_role: bool) -> dict[str, Any]:
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
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": wire, "finish_reason": delta.finish_reason}],
    }
