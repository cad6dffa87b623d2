"""In-process measurements of this project's code, as a worker driven by `bench.run`.

    python -m bench.inprocess UPSTREAM_URL     # then one JSON command a line on stdin

Commands (one JSON result a line on stdout):
- `{"op": "round", "n": 400, "warmup": 40}`: sequential latency, the targets taking turns call
  by call (`bench.measure.sequential`): raw httpx on its default transport, raw aiohttp, the bare
  provider (`HttpLLMProvider.chat` over `HttpTransport`), and the whole provider chain (`GenerateReply.execute`,
  through the container, as `/v1` calls it) for the environment and for a user.
- `{"op": "tokens", "callers": 1000}`: cold-start token reuse: `callers` concurrent chain calls
  over AI Gateway credentials that have no token yet, then the same again; the upstream counts the
  token requests per client id.
- `{"op": "fallback", "n": 300, "n_slow": 40}`: the price of falling over: a primary that
  refuses connections (with and without the retry policy's backoff), and a primary whose
  breaker is open, each against the secondary alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import tempfile
import time
import uuid
import warnings
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from bench.measure import Latency, sequential
from bench.targets import (
    EXPECTED,
    REQUEST,
    WrongAnswer,
    default_httpx_client,
    provider_target,
    raw_aiohttp_target,
    raw_httpx_target,
)
from bench.upstream import MODEL
from ideaforge_gateway.adapters.http.client import build_http_client
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_provider_factory import AIGatewayDefaults, HttpProviderFactory, VendorDefaults
from ideaforge_gateway.application.fallback_chain import Breakers, FallbackChain, Step
from ideaforge_gateway.application.registry import ProviderRegistry, ResolvedProvider
from ideaforge_gateway.application.use_cases.generate_reply import GenerateReply, GenerateRequest
from ideaforge_gateway.domain.config import TierModels
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
from ideaforge_gateway.domain.models import ChatOptions, ChatRequest, ProviderName
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState
from ideaforge_gateway.domain.policies.fallback import RetryPolicy
from ideaforge_gateway.entrypoints.settings import Settings

TIERS = TierModels(MODEL, MODEL, MODEL)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise WrongAnswer(what)


def _lat(result: dict[str, Latency]) -> dict[str, Any]:
    return {
        name: {"p50_us": lat.p50_us, "p99_us": lat.p99_us, "errors": dict(lat.errors)} for name, lat in result.items()
    }


def _stats(upstream: str) -> dict[str, int]:
    import urllib.request

    with urllib.request.urlopen(f"{upstream}/_stats", timeout=5) as response:
        return dict(json.loads(response.read())["token_requests"])


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, upstream: str, stack: AsyncExitStack) -> None:
        self.upstream = upstream
        self.stack = stack
        self.calls: dict[str, Any] = {}

    async def setup(self) -> None:
        data_dir = Path(tempfile.mkdtemp(prefix="bench-inprocess-"))
        os.environ.update(
            IDEAFORGE_DATA_DIR=str(data_dir),
            OPENAI_API_KEY="bench-openai-key",
            OPENAI_BASE_URL=f"{self.upstream}/v1",
            AI_GATEWAY_ENABLED="false",
        )
        from ideaforge_gateway.entrypoints.container import Container, close

        container = Container()
        container.engine()
        self.stack.push_async_callback(close, container)
        user, _ = container.user_store().create("inprocess")
        base_url = f"{self.upstream}/v1"
        default = await self.stack.enter_async_context(default_httpx_client())
        transport = HttpTransport(await self.stack.enter_async_context(build_http_client()))
        session = await self.stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), trust_env=False)
        )
        reply = container.generate_reply()

        def chain(user_id: str | None) -> Any:
            request = GenerateRequest(
                messages=REQUEST.messages, model=MODEL, user_id=user_id, options=ChatOptions(max_tokens=32)
            )

            async def call() -> None:
                generation = await reply.execute(request)
                _check(generation.response.content == EXPECTED, "chain content")

            return call

        self.calls = {
            "raw httpx (default transport)": raw_httpx_target("", default, base_url).chat,
            "raw aiohttp.ClientSession": raw_aiohttp_target("", session, base_url).chat,
            "provider: HttpLLMProvider.chat": provider_target("", transport, base_url).chat,
            "chain: GenerateReply.execute (environment's provider)": chain(None),
            "chain: GenerateReply.execute (a user: stored-credential lookup)": chain(user.id),
        }

    async def round(self, n: int, warmup: int) -> dict[str, Any]:
        return _lat(await sequential(self.calls, n, warmup))

    async def tokens(self, callers: int) -> dict[str, Any]:
        """Cold-start token reuse, through the chain, for 1 and then for 4 credentials."""
        out = {}
        for credentials in (1, 4):
            http = HttpTransport(build_http_client())
            factory = HttpProviderFactory(http, ai_gateway=AIGatewayDefaults(base_url=self.upstream))
            settings = Settings(_env_file=None)
            registry = ProviderRegistry(settings.gateway_config(), factory)
            chain = FallbackChain(registry, Breakers())
            ids = [f"inproc-{uuid.uuid4().hex[:8]}-{i}" for i in range(credentials)]
            steps = [
                [
                    Step(
                        ResolvedProvider(
                            ProviderName.AI_GATEWAY,
                            ProviderCredentials(ProviderName.AI_GATEWAY, SecretStr(cid), SecretStr("secret")),
                            "user",
                            TIERS,
                            MODEL,
                            None,
                        ),
                        ChatRequest(model=MODEL, messages=REQUEST.messages, options=ChatOptions(max_tokens=32)),
                    )
                ]
                for cid in ids
            ]
            waves = []
            for _ in range(2):
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(chain.complete(steps[i % credentials]) for i in range(callers)), return_exceptions=True
                )
                wall = time.perf_counter() - started
                errors = [r for r in results if isinstance(r, BaseException)]
                counts = _stats(self.upstream)
                waves.append(
                    {
                        "wall_s": wall,
                        "errors": len(errors),
                        "error_sample": repr(errors[0])[:200] if errors else None,
                        "token_requests": {cid: counts.get(cid, 0) for cid in ids},
                    }
                )
            await http.aclose()
            out[str(credentials)] = {"callers": callers, "waves": waves}
        return out

    async def fallback(self, n: int, n_slow: int) -> dict[str, Any]:
        closed = _closed_port()
        settings = Settings(
            _env_file=None,
            openai_api_key=SecretStr("bench-openai-key"),
            openai_base_url=f"{self.upstream}/v1",
            ai_gateway_client_id=SecretStr("fallback-id"),
            ai_gateway_client_secret=SecretStr("fallback-secret"),
            ai_gateway_base_url=f"http://127.0.0.1:{closed}",
            ai_gateway_enabled=True,
            ai_gateway_auth_method=AuthMethod.STATIC_KEY,
        )
        http = HttpTransport(await self.stack.enter_async_context(build_http_client()))
        factory = HttpProviderFactory(
            http,
            ai_gateway=AIGatewayDefaults(base_url=settings.ai_gateway_base_url, auth_method=AuthMethod.STATIC_KEY),
            vendors=VendorDefaults(openai=settings.openai_base_url),
        )
        registry = ProviderRegistry(settings.gateway_config(), factory)
        plan = GenerateReply(registry, FallbackChain(registry, Breakers())).plan(
            GenerateRequest(messages=REQUEST.messages, model=MODEL, options=ChatOptions(max_tokens=32))
        )
        assert [s.resolved.provider for s in plan] == [ProviderName.AI_GATEWAY, ProviderName.OPENAI], plan
        secondary = plan[1:]
        never_opens = 10**9
        chains = {
            "secondary alone (baseline)": (FallbackChain(registry, Breakers()), secondary),
            "refusing primary, 1 attempt per provider": (
                FallbackChain(registry, Breakers(threshold=never_opens), RetryPolicy(attempts_per_provider=1)),
                plan,
            ),
            "refusing primary, default policy (2 attempts, backoff)": (
                FallbackChain(registry, Breakers(threshold=never_opens), RetryPolicy()),
                plan,
            ),
        }
        open_breakers = Breakers(threshold=1, cooldown=1e9)
        open_chain = FallbackChain(registry, open_breakers, RetryPolicy(attempts_per_provider=1))
        await open_chain.complete(plan)  # one refused connection opens the primary's breaker
        assert open_breakers.for_step(plan[0]).state is BreakerState.OPEN
        chains["primary behind an open breaker"] = (open_chain, plan)

        first_attempts: dict[str, list[str]] = {}

        def call_for(name: str) -> Any:
            chain, steps = chains[name]

            async def call() -> None:
                generation = await chain.complete(steps)
                _check(generation.response.content == EXPECTED, "fallback content")
                _check(generation.response.provider is ProviderName.OPENAI, "answered by the secondary")
                first_attempts.setdefault(
                    name,
                    [
                        f"{a.provider.value}: {a.outcome} in {a.latency_ms:.2f} ms ({a.error or ''})"
                        for a in generation.attempts
                    ],
                )

            return call

        fast = [
            "secondary alone (baseline)",
            "refusing primary, 1 attempt per provider",
            "primary behind an open breaker",
        ]
        slow = ["secondary alone (baseline)", "refusing primary, default policy (2 attempts, backoff)"]
        fast_result = _lat(await sequential({k: call_for(k) for k in fast}, n, max(5, n // 10)))
        slow_result = _lat(await sequential({k: call_for(k) for k in slow}, n_slow, 3))
        slow_result["secondary alone (baseline, slow group)"] = slow_result.pop("secondary alone (baseline)")
        return {**fast_result, **slow_result, "_attempts": first_attempts}


async def serve(upstream: str) -> None:
    async with AsyncExitStack() as stack:
        worker = Worker(upstream, stack)
        await worker.setup()
        print(json.dumps({"ready": True}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            cmd = json.loads(line)
            op = cmd.pop("op")
            try:
                result = await getattr(worker, op)(**cmd)
            except Exception as exc:
                result = {"_error": f"{type(exc).__name__}: {exc}"[:500]}
            print(json.dumps(result), flush=True)


def main() -> None:
    """On uvloop, as `ideaforge serve` runs (uvicorn picks it when installed)."""
    import uvloop

    warnings.simplefilter("ignore")
    uvloop.run(serve(sys.argv[1].rstrip("/")))


if __name__ == "__main__":
    main()
