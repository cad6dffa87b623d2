"""What observability costs on the request path: the app with metrics off, on, and on with traces,
side by side in one process, against a direct call to the same upstream (and against the chain
with no telemetry at all, for the cost of what is always on: the warnings and the health view).

    .venv/bin/python -m bench.observability [--rounds 40] [--batch 50]

Each variant is the real app (`create_app` over the real container), driven through ASGI without
an HTTP server; the upstream is `bench.upstream` in its own process. In every round each variant
(and the direct call) answers `--batch` sequential /v1 requests, JSON then SSE, in a shuffled
order, so drift in the machine's load falls on all of them alike. Per request: wall time, and the
CPU time of this process's thread (the app's event loop). "added" is a variant's median wall time
minus the direct call's: what the gateway adds (without an HTTP server's parsing, so a lower
bound, which makes the cost fractions upper bounds). Writes bench/results/observability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
from dependency_injector import providers
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from bench.environment import REPO, load_average, upstream_process
from ideaforge_gateway.application.telemetry import NO_TELEMETRY
from ideaforge_gateway.entrypoints.container import Container
from ideaforge_gateway.entrypoints.http.app import _tune_gc, create_app
from ideaforge_gateway.entrypoints.settings import Settings

Call = Callable[[bool], Awaitable[None]]


class _Discard(SpanExporter):
    """Spans made and batched as with OTLP, then dropped: the cost is the gateway's, not a network's."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _container(upstream: str, work: Path, **settings: Any) -> Container:
    container = Container()
    values = {"ideaforge_data_dir": work, "openai_api_key": "k", "openai_base_url": f"{upstream}/v1", **settings}
    container.settings.override(providers.Object(Settings(_env_file=None, **values)))
    return container


def _asgi_call(app: Any, token: str) -> Call:
    async def call(stream: bool) -> None:
        body = json.dumps({"model": "fast", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}).encode()
        headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
                 "query_string": b"", "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 80), "state": {}}  # fmt: skip
        delivered = False
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        assert statuses == [200], statuses

    return call


def _direct_call(session: aiohttp.ClientSession, upstream: str) -> Call:
    async def call(stream: bool) -> None:
        body = {"model": "gpt-4o-mini", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
        async with session.post(
            f"{upstream}/v1/chat/completions", json=body, headers={"Authorization": "Bearer k"}
        ) as r:
            assert r.status == 200
            await r.read()

    return call


async def _run(rounds: int, batch: int, upstream: str) -> dict[str, dict[str, list[float]]]:
    work = Path(tempfile.mkdtemp(prefix="bench-observability-"))
    tracing = TracerProvider()
    tracing.add_span_processor(BatchSpanProcessor(_Discard()))
    containers = {
        "no telemetry in the chain": _container(upstream, work),
        "metrics off": _container(upstream, work),
        "metrics on": _container(upstream, work, ideaforge_metrics=True),
        "metrics and traces on": _container(upstream, work, ideaforge_metrics=True),
    }
    containers["metrics and traces on"].tracer_provider.override(providers.Object(tracing))
    # The always-on part (warnings, the health view) left out: what it costs is the row's difference.
    containers["no telemetry in the chain"].telemetry.override(providers.Object(NO_TELEMETRY))
    _, token = containers["metrics off"].user_store().create("bench")
    calls: dict[str, Call] = {}
    samples: dict[str, dict[str, list[float]]] = {}
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        calls["direct"] = _direct_call(session, upstream)
        for name, container in containers.items():
            app = create_app(container)
            await stack.enter_async_context(app.router.lifespan_context(app))
            calls[name] = _asgi_call(app, token.get_secret_value())
        for call in calls.values():  # warm up: connections, tokens, caches
            for stream in (False, True):
                for _ in range(20):
                    await call(stream)
        _tune_gc()  # as `ideaforge serve` does: the collector's pauses would otherwise land at random
        for round_no in range(rounds):
            order = list(calls)
            random.Random(round_no).shuffle(order)
            for name in order:
                for stream in (False, True):
                    kind = "sse" if stream else "json"
                    for _ in range(batch):
                        wall, cpu = time.perf_counter(), time.thread_time()
                        await calls[name](stream)
                        bucket = samples.setdefault(name, {})
                        bucket.setdefault(f"{kind} wall", []).append(time.perf_counter() - wall)
                        bucket.setdefault(f"{kind} cpu", []).append(time.thread_time() - cpu)
            if (round_no + 1) % 10 == 0:
                print(f"round {round_no + 1}/{rounds}, load average {load_average()}", flush=True)
    tracing.shutdown()
    return samples


def _share(m: dict[str, float], off: dict[str, float], direct: dict[str, float], kind: str, what: str) -> float:
    """What `m` costs over `off`, as a share of what `off` adds over the direct call."""
    key = f"{kind} {what}"
    return (m[key] - off[key]) / (off[key] - direct[key])


def _report(samples: dict[str, dict[str, list[float]]], rounds: int, batch: int) -> str:
    med = {name: {k: statistics.median(v) * 1e6 for k, v in s.items()} for name, s in samples.items()}
    direct = med.pop("direct")
    off = med["metrics off"]
    lines = [
        "| variant | JSON added µs | SSE added µs | JSON CPU µs | SSE CPU µs | cost over metrics off (JSON / SSE) |",
        "|---|---|---|---|---|---|",
        f"| direct call (floor) | 0 | 0 | {direct['json cpu']:,.0f} | {direct['sse cpu']:,.0f} | |",
    ]
    for name, m in med.items():
        added = {k: m[f"{k} wall"] - direct[f"{k} wall"] for k in ("json", "sse")}
        cost = ""
        if m is not off:
            cost = " / ".join(
                f"{_share(m, off, direct, k, 'wall'):+.1%} of added latency, "
                f"{_share(m, off, direct, k, 'cpu'):+.1%} of added CPU"
                for k in ("json", "sse")
            )
        lines.append(
            f"| {name} | {added['json']:,.0f} | {added['sse']:,.0f} | {m['json cpu']:,.0f} | {m['sse cpu']:,.0f} "
            f"| {cost} |"
        )
    return "\n".join(
        [
            "# Observability on the request path",
            "",
            f"`.venv/bin/python -m bench.observability --rounds {rounds} --batch {batch}`: medians of "
            f"{rounds * batch} sequential requests per variant and kind, interleaved in one process (see the "
            f"module's docstring); load average {load_average()} when written.",
            "",
            *lines,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    with upstream_process("--uvloop") as upstream:
        samples = asyncio.run(_run(args.rounds, args.batch, upstream.url))
    report = _report(samples, args.rounds, args.batch)
    out = REPO / "bench" / "results" / "observability.md"
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
