"""What the OpenAI-compatible provider does with answers that are not the event stream it asked for."""

from __future__ import annotations

import pytest
from aiohttp import web
from pydantic import SecretStr

from ideaforge_gateway.adapters.http.client import SharedHttpClient
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_llm_provider import HttpLLMProvider
from ideaforge_gateway.adapters.openai_compat.wire import OpenAIChatCompletionsFormat
from ideaforge_gateway.domain.errors import ProviderUnavailableError
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ProviderName
from tests.support.loopback_server import LoopbackServer

ASK = ChatRequest(model="gpt-4o", messages=[ChatMessage("user", "hi")])


async def _json_even_when_asked_to_stream(request: web.Request) -> web.Response:
    return web.json_response({"id": "x", "choices": [{"message": {"content": "not a stream"}}]})


async def _event_stream_with_a_bom(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(b"\xef\xbb\xbf")
    await response.write(b'data: {"choices": [{"delta": {"content": "hello"}}]}\r\n\r\ndata: [DONE]\r\n\r\n')
    return response


@pytest.mark.parametrize(
    ("handler", "expected"),
    [(_json_even_when_asked_to_stream, "malformed event stream"), (_event_stream_with_a_bom, None)],
)
async def test_a_stream_answer_must_be_an_event_stream(handler: object, expected: str | None) -> None:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)  # type: ignore[arg-type]
    server = LoopbackServer(app).start()
    http = HttpTransport(SharedHttpClient())
    try:
        provider = HttpLLMProvider(
            http, base_url=f"{server.url}/v1", auth=HeaderAuth("Authorization", "Bearer ", SecretStr("k")),
            wire=OpenAIChatCompletionsFormat(ProviderName.OPENAI),
        )  # fmt: skip
        if expected is None:
            async with provider.stream(ASK) as deltas:
                assert "".join([d.content or "" async for d in deltas]) == "hello"
        else:
            with pytest.raises(ProviderUnavailableError, match=expected):
                async with provider.stream(ASK) as deltas:
                    [d async for d in deltas]
    finally:
        await http.aclose()
        server.stop()
