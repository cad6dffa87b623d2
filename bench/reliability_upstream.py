"""An OpenAI-compatible upstream for the reliability benchmarks, in a process of its own.

    python -m bench.reliability_upstream --mode ok|storm|drip|huge [--drip-seconds S]

Binds 127.0.0.1 on a free port and prints `READY <port>` once it accepts connections.
- `ok`: answers at once; a stream is a role chunk, the words of `ANSWER`, a finish, usage, `[DONE]`.
- `storm`: every chat request is a 429 with `Retry-After: 1` (a rate-limit storm).
- `huge`: a non-streamed chat answer is `HUGE_BYTES` (200 MB) of JSON, sent chunked with no
  length announced, so a client can only refuse it by counting as it reads (issue 18, case 1).
- `drip`: for model `drip`, streams `ANSWER` one word per `--drip-seconds / words` seconds (a slow
  drip); other models answer at once, for warming up.
`GET /_stats` reports requests seen and this process's CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import web

MODEL = "gpt-4o-mini"
ANSWER = "The quick brown fox jumps over the lazy dog while the gateway keeps every stream intact."
WORDS = [w + " " for w in ANSWER.split(" ")[:-1]] + [ANSWER.split(" ")[-1]]
HUGE_BYTES = 200 * 1000 * 1000
_HUGE_CHUNK = b" " * (1 << 20)
USAGE = {"prompt_tokens": 11, "completion_tokens": len(WORDS), "total_tokens": 11 + len(WORDS)}


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
    body = {"id": "chatcmpl-rel", "object": "chat.completion.chunk", "model": MODEL, "choices": choices, **extra}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def events() -> list[bytes]:
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}, *({"content": w} for w in WORDS)]
    out = [_chunk([{"index": 0, "delta": d, "finish_reason": None}]) for d in deltas]
    out.append(_chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    out.append(_chunk([], usage=USAGE))
    out.append(b"data: [DONE]\n\n")
    return out


EVENTS = events()


class Upstream:
    def __init__(self, mode: str, drip_seconds: float) -> None:
        self.mode = mode
        self.gap = drip_seconds / len(WORDS)
        self.requests = 0

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"error": {"message": "no key", "code": "invalid_api_key"}}, status=401)
        body = json.loads(await request.read())
        if self.mode == "storm":
            error = {"error": {"message": "slow down", "type": "rate_limit", "code": "rate_limit_exceeded"}}
            return web.json_response(error, status=429, headers={"Retry-After": "1"})
        if self.mode == "huge" and not body.get("stream"):
            return await self._huge(request)
        if not body.get("stream"):
            message = {"role": "assistant", "content": ANSWER}
            completion = {"id": "c", "object": "chat.completion", "model": MODEL, "usage": USAGE,
                          "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}  # fmt: skip
            return web.json_response(completion)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for n, event in enumerate(EVENTS):
            if self.mode == "drip" and body.get("model") == "drip" and 0 < n <= len(WORDS):
                await asyncio.sleep(self.gap)
            await response.write(event)
        await response.write_eof()
        return response

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        with contextlib.suppress(ConnectionError):  # the client hanging up is the expected end
            await response.write(b'{"id": "c", "padding": "')
            while sent < HUGE_BYTES:
                await response.write(_HUGE_CHUNK)
                sent += len(_HUGE_CHUNK)
            await response.write(b'"}')
            await response.write_eof()
        return response

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "bench"}]})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": self.requests, "cpu_seconds": time.process_time()})


async def serve(mode: str, drip_seconds: float) -> None:
    upstream = Upstream(mode, drip_seconds)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", upstream.chat)
    app.router.add_get("/v1/models", upstream.models)
    app.router.add_get("/_stats", upstream.stats)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["ok", "storm", "drip", "huge"], default="ok")
    parser.add_argument("--drip-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.mode, args.drip_seconds))


if __name__ == "__main__":
    main()
