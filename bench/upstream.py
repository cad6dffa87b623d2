"""A zero-delay OpenAI-compatible upstream for benchmarks, meant to run in a process of its own.

`python -m bench.upstream` binds 127.0.0.1 on a free port and prints `READY <port>` on
stdout once it accepts connections. Its answers are precomputed, so the client under test, not
this server, should be what a benchmark measures; `GET /_stats` reports this process's CPU
seconds so the benchmark can tell when the server itself became the limit.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
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
    await response.prepare(request)
    for event in EVENTS:  # one write per event, as a real upstream flushes each token
        await response.write(event)
    await response.write_eof()
    return response


async def models(request: web.Request) -> web.Response:
    return web.Response(body=MODELS, content_type="application/json")


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"cpu_seconds": time.process_time()})


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
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
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
