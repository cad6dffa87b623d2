"""A zero-delay OpenAI-compatible upstream for benchmarks, meant to run in a process of its own.

`python -m bench.upstream` binds 127.0.0.1 on a free port and prints `READY <port>` on
stdout once it accepts connections. Its answers are precomputed, so the client under test, not
this server, should be what a benchmark measures; `GET /_stats` reports this process's CPU
seconds so the benchmark can tell when the server itself became the limit.

It is also a minimal OAuth2 issuer for the AI Gateway path: `/.well-known/openid-configuration`
names `/oauth/token`, which grants any client-credentials request a bearer token valid for an
hour and counts the requests per client id (in `/_stats`), so a benchmark can check that
concurrent callers share one token request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import sys
import time
from collections import Counter
from typing import Any

from aiohttp import web

MODEL = "gpt-4o-mini"
_USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def _completion() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                    "finish_reason": "stop",
                }
            ],
            "usage": _USAGE,
        }
    ).encode()


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": MODEL, "choices": choices, **extra}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _events() -> list[bytes]:
    """A role chunk, five content chunks, a finish chunk, a usage chunk, then `[DONE]`."""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": word} for word in ("Hello", "! How", " can I", " help you", " today?")]
    events = [_chunk([{"index": 0, "delta": d, "finish_reason": None}]) for d in deltas]
    events.append(_chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(_chunk([], usage=_USAGE))
    events.append(b"data: [DONE]\n\n")
    return events


COMPLETION = _completion()
EVENTS = _events()
MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "bench"}]}).encode()


async def chat(request: web.Request) -> web.StreamResponse:
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return web.json_response({"error": {"message": "no key", "code": "invalid_api_key"}}, status=401)
    body = json.loads(await request.read())
    if not body.get("stream"):
        return web.Response(body=COMPLETION, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    try:
        await response.prepare(request)
        for event in EVENTS:  # one write per event, as a real upstream flushes each token
            await response.write(event)
        await response.write_eof()
    except ConnectionResetError:  # a load generator stopping mid-stream: nothing to report
        pass
    return response


async def models(request: web.Request) -> web.Response:
    return web.Response(body=MODELS, content_type="application/json")


TOKEN_REQUESTS: Counter[str] = Counter()
TOKEN_LIFETIME = 3600


async def openid_configuration(request: web.Request) -> web.Response:
    origin = f"{request.scheme}://{request.host}"
    return web.json_response({"issuer": origin, "token_endpoint": f"{origin}/oauth/token"})


async def token(request: web.Request) -> web.Response:
    form = await request.post()
    client_id = str(form.get("client_id", ""))
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        client_id = base64.b64decode(header[6:]).decode().split(":", 1)[0]
    TOKEN_REQUESTS[client_id] += 1
    if form.get("grant_type") != "client_credentials" or not client_id:
        return web.json_response({"error": "invalid_client"}, status=401)
    body = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"cpu_seconds": time.process_time(), "token_requests": dict(TOKEN_REQUESTS)})


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/.well-known/openid-configuration", openid_configuration)
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/_stats", stats)
    return app


async def serve() -> None:
    runner = web.AppRunner(build_app(), access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    run = asyncio.run
    if "--uvloop" in sys.argv[1:]:
        import uvloop

        run = uvloop.run
    try:
        run(serve())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
