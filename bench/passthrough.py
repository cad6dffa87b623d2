"""Naive FastAPI passthroughs for `POST /v1/chat/completions`: the floor a gateway is held to.

    BENCH_UPSTREAM=http://127.0.0.1:PORT uvicorn bench.passthrough:httpx_app   (or :aiohttp_app)

Each forwards the request body as it came, with the caller's `Authorization`, to
`$BENCH_UPSTREAM/v1/chat/completions`, and relays the answer's bytes: a JSON body whole, an SSE
stream chunk by chunk as it arrives. No parsing beyond reading `stream` from the request, no
validation, no auth: what any gateway must do at least, and nothing more.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:9").rstrip("/")
CHAT_URL = f"{UPSTREAM}/v1/chat/completions"
SSE = "text/event-stream"


def _headers(request: Request) -> dict[str, str]:
    return {"Authorization": request.headers.get("authorization", ""), "Content-Type": "application/json"}


def _streams(body: bytes) -> bool:
    return bool(json.loads(body).get("stream"))


def _httpx_app() -> FastAPI:
    client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal client
        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=200), timeout=60.0, trust_env=False)
        yield
        await client.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        assert client is not None
        body = await request.body()
        upstream = client.build_request("POST", CHAT_URL, content=body, headers=_headers(request))
        if not _streams(body):
            answer = await client.send(upstream)
            return Response(answer.content, status_code=answer.status_code, media_type="application/json")
        answer = await client.send(upstream, stream=True)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in answer.aiter_raw():
                    yield chunk
            finally:
                await answer.aclose()

        return StreamingResponse(relay(), status_code=answer.status_code, media_type=SSE)

    return app


def _aiohttp_app() -> FastAPI:
    session: aiohttp.ClientSession | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal session
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), trust_env=False)
        yield
        await session.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        assert session is not None
        body = await request.body()
        if not _streams(body):
            async with session.post(CHAT_URL, data=body, headers=_headers(request)) as answer:
                content = await answer.read()
            return Response(content, status_code=answer.status, media_type="application/json")
        answer = await session.post(CHAT_URL, data=body, headers=_headers(request))

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in answer.content.iter_any():
                    yield chunk
            finally:
                answer.release()

        return StreamingResponse(relay(), status_code=answer.status, media_type=SSE)

    return app


httpx_app = _httpx_app()
aiohttp_app = _aiohttp_app()
