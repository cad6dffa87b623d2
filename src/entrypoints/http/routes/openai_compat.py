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
from ideaforge_gateway.domain.models import StreamDelta, Tier
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
from ideaforge_gateway.entrypoints.http.openai_answers import chunk, completion, usage_chunk
from ideaforge_gateway.entrypoints.http.openai_schemas import ChatCompletionBody
from ideaforge_gateway.entrypoints.http.presenters import header_value, sse
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
        return JSONResponse(completion(completion_id, created, generation.response), headers=headers)

    await use_case.prepare(request)
    stream = use_case.stream(request)
    deltas = stream.deltas.__aiter__()
    first = await anext(deltas, None)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    model = stream.model or body.model

    async def events() -> AsyncIterator[bytes]:
        usage: StreamDelta | None = None  # the last delta that carried usage
        delta: StreamDelta | None = first
        roles_sent: set[int] = set()  # the choices whose first chunk (with the role) is sent
        try:
            while delta is not None:
                if delta.usage is not None:
                    usage = delta
                if delta.has_content or delta.finish_reason or delta.index not in roles_sent:
                    with_role = delta.index not in roles_sent
                    yield sse(chunk(completion_id, created, model, delta, with_role=with_role))
                    roles_sent.add(delta.index)
                delta = await anext(deltas, None)
        except GatewayError as exc:
            error = {"message": exc.message, "type": "api_error", "code": exc.kind}
            yield sse({"error": error, "status": status_for(exc)})
            return
        finally:
            await aclose(deltas)
        done = b"data: [DONE]\n\n"
        if include_usage:  # sent with [DONE]: one write for both
            done = sse(usage_chunk(completion_id, created, model, usage)) + done
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
