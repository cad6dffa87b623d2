"""A standards-compliant stand-in for the AI Gateway, on 127.0.0.1.

- OAuth2 discovery (`/.well-known/openid-configuration` or RFC 8414's document) and a token
  endpoint for the client-credentials grant, with `client_secret_basic` (each part form-decoded
  after base64, RFC 6749 §2.3.1) and `client_secret_post`, RFC 6749 §5.2 error bodies.
- OpenAI-compatible `GET /v1/models` and `POST /v1/chat/completions`, JSON and SSE, tool calls
  and usage, that accept only live tokens it issued (or the static key, when enabled).
- Knobs for faults, and counters the tests assert on. State is guarded by a lock: the server
  runs on its own thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from tests.support.loopback_server import LoopbackServer
from tests.support.schema_sample import sample

MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "gpt-4.1", "claude-sonnet-4-5-20250929", "gemini-2.5-pro"]


@dataclass
class GatewayState:
    client_id: str = "svc-client"
    client_secret: str = "svc-secret"
    auth_method: str = "client_secret_basic"
    discovery: str = "openid"  # "openid", "oauth" or "none"
    token_lifetime: float | None = 3600.0
    accept_static_key: bool = False
    api_key: str | None = None
    """A bearer key accepted as it is, as OpenAI's API does."""
    token_failures: list[int] = field(default_factory=list)
    """Statuses to answer the next token requests with, one each, before succeeding."""
    token_retry_after: str | None = None
    token_delay: float = 0.0
    token_gate: threading.Event | None = None
    """If set, each token request waits for it (at most 10 s) before answering: a slow endpoint,
    as slow as the test needs, without timing."""
    chat_failures: list[int] = field(default_factory=list)
    chat_retry_after: str | None = None
    """Sent with the failures above (a 429's Retry-After, say)."""
    chat_error: tuple[str, str | None] | None = None
    """The vendor `code` and `param` the failures above carry (default: `server_error` or `failure`)."""
    chat_malformed: int = 0
    """Answer this many chat requests with a 200 whose body is not JSON."""
    stream_cut_after: int | None = None
    """End the SSE stream after this many chunks, without [DONE]."""
    stream_gate: threading.Event | None = None
    """If set, the stream waits for it after its first chunk."""
    stream_error_after: int | None = None
    """After this many chunks, send an in-band `data: {"error": ...}` event, then `[DONE]`."""
    parallel_tool_calls: int = 1
    """How many calls of the first tool an answer asks for (cities Paris, Rome, ...)."""
    reasoning: str | None = None
    """If set, answers carry it as `reasoning_content` (streamed first), as reasoning models do."""
    tool_calls_unindexed: bool = False
    """Stream each tool call whole, with its own id and no `index` (Gemini's OpenAI endpoint)."""
    chat_delay: float = 0.0
    expected_scope: str | None = None
    expected_audience: str | None = None

    token_requests: int = 0
    issued: dict[str, float] = field(default_factory=dict)
    expired_token_uses: int = 0
    rejected_token_uses: int = 0
    chat_requests: int = 0
    last_chat_body: dict[str, Any] | None = None
    seen_scopes: list[str | None] = field(default_factory=list)


class FakeAIGateway:
    def __init__(self, *, tls: ssl.SSLContext | None = None, **state: Any) -> None:
        """`tls`: serve https with this server context (the URL's scheme follows)."""
        self.state = GatewayState(**state)
        self.lock = threading.Lock()
        app = web.Application(client_max_size=32 * 1024 * 1024)  # as vendors take (Anthropic: 32 MB)
        app.router.add_get("/.well-known/openid-configuration", self._openid)
        app.router.add_get("/.well-known/oauth-authorization-server", self._oauth_metadata)
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/redirect/v1/chat/completions", self._redirect)
        app.router.add_get("/redirect/v1/models", self._redirect)
        self.server = LoopbackServer(app, tls=tls)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeAIGateway:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def revoke_all_tokens(self) -> None:
        with self.lock:
            self.state.issued.clear()

    # Discovery.
    async def _openid(self, request: web.Request) -> web.Response:
        if self.state.discovery != "openid":
            return web.Response(status=404)
        return web.json_response({"issuer": self.url, "token_endpoint": f"{self.url}/oauth/token"})

    async def _oauth_metadata(self, request: web.Request) -> web.Response:
        if self.state.discovery == "none":
            return web.Response(status=404)
        return web.json_response(
            {
                "issuer": self.url,
                "token_endpoint": f"{self.url}/oauth/token",
                "grant_types_supported": ["client_credentials"],
            }
        )

    # Token endpoint.
    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        with self.lock:
            self.state.token_requests += 1
            failure = self.state.token_failures.pop(0) if self.state.token_failures else None
            delay = self.state.token_delay
        if delay:
            await asyncio.sleep(delay)
        if self.state.token_gate is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.state.token_gate.wait, 10)
        if failure is not None:
            headers = {"Retry-After": self.state.token_retry_after} if self.state.token_retry_after else {}
            return web.json_response({"error": "temporarily_unavailable"}, status=failure, headers=headers)
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", 400)
        client = self._client_from(request, form)
        if client is None:
            return _oauth_error("invalid_client", 401, {"WWW-Authenticate": 'Basic realm="fake"'})
        if self.state.expected_scope is not None and form.get("scope") != self.state.expected_scope:
            return _oauth_error("invalid_scope", 400)
        if self.state.expected_audience is not None and form.get("audience") != self.state.expected_audience:
            return _oauth_error("invalid_target", 400)
        token = secrets.token_urlsafe(24)
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        lifetime = self.state.token_lifetime
        with self.lock:
            self.state.issued[token] = time.monotonic() + (lifetime if lifetime is not None else 300.0)
            self.state.seen_scopes.append(str(form["scope"]) if "scope" in form else None)
        if lifetime is not None:
            body["expires_in"] = lifetime
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def _client_from(self, request: web.Request, form: Any) -> str | None:
        expected = (self.state.client_id, self.state.client_secret)
        header = request.headers.get("Authorization", "")
        if self.state.auth_method == "client_secret_basic":
            if not header.startswith("Basic "):
                return None
            try:
                raw = base64.b64decode(header[6:], validate=True).decode()
            except ValueError:
                return None
            client_id, _, secret = raw.partition(":")
            given = (unquote_plus(client_id), unquote_plus(secret))
        else:
            if header or "client_secret" not in form:
                return None
            given = (str(form.get("client_id")), str(form.get("client_secret")))
        return given[0] if given == expected else None

    # The OpenAI-compatible API.
    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and self.accepts(header[7:])

    def accepts(self, token: str) -> bool:
        """Whether `token` is a live token this gateway issued (or the static key, or the API
        key, when those are accepted): what every route of this gateway checks."""
        with self.lock:
            if self.state.accept_static_key and token == f"{self.state.client_id}:{self.state.client_secret}":
                return True
            if self.state.api_key is not None and token == self.state.api_key:
                return True
            expires = self.state.issued.get(token)
            if expires is None:
                self.state.rejected_token_uses += 1
                return False
            if time.monotonic() >= expires:
                self.state.expired_token_uses += 1
                return False
        return True

    async def _models(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _api_error(401, "invalid_api_key")
        return web.json_response(
            {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "ai-gateway"} for m in MODELS]}
        )

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(location=f"{self.url}/v1/{request.path.rsplit('/v1/', 1)[1]}")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _api_error(401, "invalid_api_key")
        body = await request.json()
        with self.lock:
            self.state.chat_requests += 1
            self.state.last_chat_body = body
            failure = self.state.chat_failures.pop(0) if self.state.chat_failures else None
            malformed = self.state.chat_malformed > 0
            self.state.chat_malformed -= int(malformed)
        if malformed:
            return web.Response(status=200, body=b"{not json", content_type="application/json")
        if self.state.chat_delay:
            await asyncio.sleep(self.state.chat_delay)
        if failure is not None:
            headers = {"Retry-After": self.state.chat_retry_after} if self.state.chat_retry_after else None
            code, param = self.state.chat_error or ("server_error" if failure >= 500 else "failure", None)
            return _api_error(failure, code, headers, param=param)
        model = body.get("model")
        if model not in MODELS:
            return _api_error(404, "model_not_found")
        content, tool_calls = reply_for(body, self.state.parallel_tool_calls)
        if body.get("stream"):
            return await self._stream(request, model, content, tool_calls)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        if self.state.reasoning is not None:
            message["reasoning_content"] = self.state.reasoning
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": model,
                "choices": [  # `n` of them, as OpenAI answers
                    {"index": i, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
                    for i in range(body.get("n") or 1)
                ],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }
        )

    async def _stream(
        self, request: web.Request, model: str, content: str | None, tool_calls: list[dict[str, Any]]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        chunks: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if self.state.reasoning is not None:
            chunks.append({"reasoning_content": self.state.reasoning})
        if content:
            chunks += [{"content": word} for word in _words(content)]
        for i, call in enumerate(tool_calls):
            fn = call["function"]
            if self.state.tool_calls_unindexed:
                chunks.append({"tool_calls": [call]})
                continue
            half = len(fn["arguments"]) // 2
            chunks.append(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": fn["name"], "arguments": fn["arguments"][:half]},
                        }
                    ]
                }
            )
            chunks.append({"tool_calls": [{"index": i, "function": {"arguments": fn["arguments"][half:]}}]})
        for sent, delta in enumerate(chunks):
            if self.state.stream_cut_after is not None and sent >= self.state.stream_cut_after:
                return response  # the connection ends without [DONE]
            if self.state.stream_error_after is not None and sent >= self.state.stream_error_after:
                error = {"message": "The server had an error", "type": "server_error", "code": "server_error"}
                await _send(response, {"error": error})
                await response.write(b"data: [DONE]\n\n")
                await response.write_eof()
                return response
            await _send(
                response,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                },
            )
            if sent == 1 and self.state.stream_gate is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.state.stream_gate.wait, 10)
        finish = "tool_calls" if tool_calls else "stop"
        await _send(
            response,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
            },
        )
        await _send(
            response,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            },
        )
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def reply_for(body: dict[str, Any], calls: int = 1) -> tuple[str | None, list[dict[str, Any]]]:
    """Echo the last user message; ask for the first tool (`calls` times, in parallel), then
    report what it returned."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    tools = body.get("tools") or []
    if last.get("role") == "tool":
        return f"The tool said: {last.get('content')}", []
    if tools:
        name = tools[0]["function"]["name"]
        cities = ["Paris", "Rome", "Oslo", "Lima"][:calls]
        return None, [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps({"city": c})}}
            for i, c in enumerate(cities, start=1)
        ]
    content = last.get("content")
    if isinstance(content, list):  # content parts: the text ones are what is echoed
        content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    answer_format = body.get("response_format") or {}
    if answer_format.get("type") == "json_schema":
        return json.dumps(sample(answer_format["json_schema"]["schema"])), []
    if answer_format.get("type") == "json_object":
        return json.dumps({"echo": content}), []
    return f"echo: {content}", []


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


async def _send(response: web.StreamResponse, chunk: dict[str, Any]) -> None:
    await response.write(f"data: {json.dumps(chunk)}\n\n".encode())


def _oauth_error(code: str, status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": code, "error_description": "see RFC 6749 section 5.2"}, status=status, headers=headers
    )


def _api_error(
    status: int, code: str, headers: dict[str, str] | None = None, *, param: str | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"message": f"fake {code}", "type": "invalid_request_error", "code": code, "param": param}},
        status=status,
        headers=headers,
    )
