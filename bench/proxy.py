"""Proxies measured from outside, over HTTP: sequential latency, time to first SSE chunk, a cold
burst of concurrent callers, and closed-loop throughput through `bench.loadgen`."""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.environment import REPO
from bench.measure import Latency
from bench.servers import Server, settle

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]
JSON_BODY: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, "max_tokens": 32}
SSE_BODY: dict[str, Any] = {**JSON_BODY, "stream": True, "stream_options": {"include_usage": True}}
EXPECTED = "Hello! How can I help you today?"
DONE = b"data: [DONE]"


class WrongAnswer(Exception):
    pass


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise WrongAnswer(what)


@dataclass
class ProxyTarget:
    """One `/v1/chat/completions` to measure. `server` is None for the upstream itself, whose
    process is then `pid`."""

    name: str
    short: str
    url: str
    token: str
    pid: int
    server: Server | None = None


def json_call(session: aiohttp.ClientSession, target: ProxyTarget) -> Callable[[], Awaitable[None]]:
    headers = {"Authorization": f"Bearer {target.token}"}

    async def call() -> None:
        async with session.post(target.url, json=JSON_BODY, headers=headers) as response:
            body = await response.read()
            _check(response.status == 200, f"HTTP {response.status}: {body[:120]!r}")
        _check(json.loads(body)["choices"][0]["message"]["content"] == EXPECTED, "content")

    return call


async def _stream_once(session: aiohttp.ClientSession, target: ProxyTarget) -> tuple[float, float]:
    """(seconds to the first `data:` chunk, seconds to `[DONE]`), checking the text on the way."""
    started = time.perf_counter()
    first = None
    text = []
    async with session.post(target.url, json=SSE_BODY, headers={"Authorization": f"Bearer {target.token}"}) as r:
        _check(r.status == 200, f"HTTP {r.status}")
        async for line in r.content:
            if not line.startswith(b"data: "):
                continue
            if first is None:
                first = time.perf_counter() - started
            if line.startswith(DONE):
                break
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or ():
                text.append((choice.get("delta") or {}).get("content") or "")
        else:
            raise WrongAnswer("no [DONE]")
    _check("".join(text) == EXPECTED, f"streamed text {''.join(text)!r}")
    assert first is not None
    return first, time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Stream:
    ttfb_p50_us: float
    ttfb_p99_us: float
    total_p50_us: float
    errors: dict[str, int]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


async def interleaved(
    targets: list[ProxyTarget],
    call: Callable[[ProxyTarget], Awaitable[Any]],
    n: int,
    warmup: int,
    seed: int,
) -> tuple[dict[str, list[Any]], dict[str, Counter[str]]]:
    """Each target once per iteration, in an order shuffled every iteration (so no target always
    follows the same one), waiting after each call until that server is idle again (`settle`)."""
    rng = random.Random(seed)
    samples: dict[str, list[Any]] = {t.name: [] for t in targets}
    errors: dict[str, Counter[str]] = {t.name: Counter() for t in targets}
    order = list(targets)
    for i in range(warmup + n):
        rng.shuffle(order)
        for target in order:
            try:
                value = await call(target)
            except Exception as exc:
                errors[target.name][f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            else:
                if i >= warmup:
                    samples[target.name].append(value)
            await settle(target.pid)
    return samples, errors


async def json_sequential(
    session: aiohttp.ClientSession, targets: list[ProxyTarget], n: int, warmup: int, seed: int = 1
) -> dict[str, Latency]:
    calls = {t.name: json_call(session, t) for t in targets}

    async def timed(target: ProxyTarget) -> float:
        started = time.perf_counter()
        await calls[target.name]()
        return time.perf_counter() - started

    samples, errors = await interleaved(targets, timed, n, warmup, seed)
    return {
        name: Latency(
            statistics.median(values) * 1e6 if values else float("nan"), _pct(values, 0.99) * 1e6, errors[name]
        )
        for name, values in samples.items()
    }


async def stream_sequential(
    session: aiohttp.ClientSession, targets: list[ProxyTarget], n: int, warmup: int, seed: int = 2
) -> dict[str, Stream]:
    samples, errors = await interleaved(targets, lambda t: _stream_once(session, t), n, warmup, seed)
    out = {}
    for name, values in samples.items():
        ttfb = [v[0] for v in values]
        total = [v[1] for v in values]
        out[name] = Stream(
            statistics.median(ttfb) * 1e6 if ttfb else float("nan"),
            _pct(ttfb, 0.99) * 1e6,
            statistics.median(total) * 1e6 if total else float("nan"),
            dict(errors[name]),
        )
    return out


async def burst(url: str, token: str, callers: int) -> dict[str, Any]:
    """`callers` requests at once, each on its own connection."""
    connector = aiohttp.TCPConnector(limit=callers)
    errors: Counter[str] = Counter()
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        target = ProxyTarget("burst", "burst", url, token, 0)
        call = json_call(session, target)

        async def one() -> None:
            try:
                await call()
            except Exception as exc:
                errors[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(callers)))
        wall = time.perf_counter() - started
    return {"callers": callers, "wall_s": wall, "errors": dict(errors)}


class LoadGen:
    """The `bench.loadgen` process, pinned to `cpu`, kept for the whole run."""

    def __init__(self, cpu: int | None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )
        assert self.proc.stdout is not None
        self.backend = json.loads(self.proc.stdout.readline())["ready"]

    def run(self, target: ProxyTarget, sse: bool, concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        command = {
            "url": target.url,
            "token": target.token,
            "body": SSE_BODY if sse else JSON_BODY,
            "sse": sse,
            "concurrency": concurrency,
            "duration": duration,
            "warmup": warmup,
        }
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)
