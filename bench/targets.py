"""The clients under test, each reduced to `chat()` and `stream()` calls that raise on a wrong answer.

Each `Target` wraps one long-lived client, as the gateway keeps one per process, so pools stay warm
across rounds. The provider target goes through `HttpLLMProvider` over `HttpTransport` exactly as the gateway
does; the raw targets post the same JSON without it, to price the wrapper itself.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from pydantic import SecretStr

from bench.upstream import MODEL
from ideaforge_gateway.adapters.http.client import HttpTimeouts, build_http_client
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_llm_provider import HttpLLMProvider
from ideaforge_gateway.adapters.openai_compat.wire import OpenAIChatCompletionsFormat, request_to_wire
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ChatRequest, ProviderName

Call = Callable[[], Awaitable[None]]

REQUEST = ChatRequest(
    model=MODEL, messages=[ChatMessage(role="user", content="Say hello.")], options=ChatOptions(max_tokens=32)
)
JSON_BODY: dict[str, Any] = request_to_wire(REQUEST, stream=False)
SSE_BODY: dict[str, Any] = request_to_wire(REQUEST, stream=True)
HEADERS = {"Authorization": "Bearer k"}
EXPECTED = "Hello! How can I help you today?"
STREAM_PIECES = 7  # role + five content chunks + finish; the usage chunk is checked apart


@dataclass(frozen=True, slots=True)
class Target:
    """`stream` is None for targets measured for sequential latency only."""

    name: str
    chat: Call
    stream: Call | None = None


class WrongAnswer(Exception):
    """The upstream's answer did not arrive intact: counted as an error, like a transport failure."""


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise WrongAnswer(what)


def default_httpx_client() -> httpx.AsyncClient:
    """httpx's own transport, with the same timeouts and no-redirect policy as `build_http_client`."""
    t = HttpTimeouts()
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=200),
        timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
        follow_redirects=False,
        trust_env=False,
    )


def provider_target(name: str, http: HttpTransport, base_url: str) -> Target:
    provider = HttpLLMProvider(
        http,
        base_url=base_url,
        auth=HeaderAuth("Authorization", "Bearer ", SecretStr("k")),
        wire=OpenAIChatCompletionsFormat(ProviderName.OPENAI),
    )

    async def chat() -> None:
        response = await provider.chat(REQUEST)
        _check(response.content == EXPECTED, "chat content")

    async def stream() -> None:
        pieces, usage = 0, False
        async with provider.stream(REQUEST) as deltas:
            async for delta in deltas:
                pieces += delta.usage is None
                usage = usage or delta.usage is not None
        _check(pieces == STREAM_PIECES and usage, f"stream had {pieces} deltas, usage={usage}")

    return Target(name, chat, stream)


def raw_httpx_target(name: str, http: httpx.AsyncClient, base_url: str) -> Target:
    url = f"{base_url}/chat/completions"

    async def chat() -> None:
        response = await http.post(url, json=JSON_BODY, headers=HEADERS)
        _check(response.status_code == 200, f"status {response.status_code}")
        _check(response.json()["choices"][0]["message"]["content"] == EXPECTED, "chat content")

    return Target(name, chat)


def raw_aiohttp_target(name: str, session: aiohttp.ClientSession, base_url: str) -> Target:
    """The floor: aiohttp with no httpx on top, parsing the JSON and every SSE chunk."""
    url = f"{base_url}/chat/completions"

    async def chat() -> None:
        async with session.post(url, json=JSON_BODY, headers=HEADERS) as response:
            _check(response.status == 200, f"status {response.status}")
            body = json.loads(await response.read())
        _check(body["choices"][0]["message"]["content"] == EXPECTED, "chat content")

    async def stream() -> None:
        chunks, done = 0, False
        async with session.post(url, json=SSE_BODY, headers=HEADERS) as response:
            _check(response.status == 200, f"status {response.status}")
            async for line in response.content:
                if not line.startswith(b"data: "):
                    continue
                data = line[6:].strip()
                if data == b"[DONE]":
                    done = True
                    break
                json.loads(data)
                chunks += 1
        _check(done and chunks == STREAM_PIECES + 1, f"stream had {chunks} chunks, done={done}")

    return Target(name, chat, stream)


async def open_targets(stack: AsyncExitStack, upstream: str) -> tuple[list[Target], list[Target]]:
    """(throughput targets, sequential-only raw httpx targets); `stack` closes every client."""
    base_url = f"{upstream}/v1"
    default = await stack.enter_async_context(default_httpx_client())
    transport = HttpTransport(await stack.enter_async_context(build_http_client()))
    session = await stack.enter_async_context(
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), trust_env=False)
    )
    main = [
        provider_target("HttpLLMProvider over HttpTransport (build_http_client)", transport, base_url),
        raw_aiohttp_target("aiohttp.ClientSession (floor)", session, base_url),
    ]
    raw = [raw_httpx_target("raw httpx, default transport", default, base_url)]
    return main, raw
