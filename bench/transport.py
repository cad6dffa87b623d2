"""Which httpx transport should the AI Gateway adapter use? Measured side by side, in one run.

    .venv/bin/python -m bench.transport [--quick] [--out PATH]

Starts a zero-delay OpenAI-compatible upstream in its own process (`bench.upstream`), then, in
rounds, measures for each client: sequential latency of a non-streaming chat completion (the
clients taking turns call by call), and requests/s at 16 and 64 concurrent callers for JSON and
for fully consumed SSE streams (the clients taking turns run by run, in an order that rotates).
Medians over rounds go to stdout and to `bench/results/transport.md` (`transport-quick.md` with
`--quick`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.environment import REPO, Upstream, load_average, machine_lines, pick_cpus, upstream_process
from bench.measure import sequential, throughput
from bench.report import CONCURRENCIES, KINDS, Results, error_lines, main_table, ratio_table, spread_table
from bench.targets import Target, open_targets


@dataclass(frozen=True, slots=True)
class Plan:
    rounds: int
    seq_calls: int
    warmup: int
    json_total: int
    sse_total: int
    time_cap: float
    """Seconds; a bound on each throughput run, so one slow client cannot blow the time budget."""

    def describe(self) -> str:
        return (
            f"{self.rounds} rounds; per round and client: {self.warmup} warm-up + {self.seq_calls} sequential calls, "
            f"{self.json_total} JSON and {self.sse_total} SSE requests at each concurrency "
            f"{'/'.join(map(str, CONCURRENCIES))} (cap {self.time_cap:g} s per run)"
        )


FULL = Plan(rounds=5, seq_calls=600, warmup=60, json_total=1000, sse_total=600, time_cap=6.0)
QUICK = Plan(rounds=2, seq_calls=250, warmup=30, json_total=400, sse_total=250, time_cap=2.5)


@dataclass(frozen=True, slots=True)
class Cpus:
    """Sequential calls run with the upstream on the client's core: across cores, this VM's idle
    core wakes up late (p99 ~5 ms at p50 0.2 ms), which hides the clients' differences. Load
    runs on separate cores, so that the upstream never competes with the client for CPU."""

    client: int | None
    upstream: int | None


async def _warm(targets: list[Target]) -> None:
    """Fill every pool to the highest concurrency once, so round 1 does not pay for connecting."""
    top = max(CONCURRENCIES)
    for target in targets:
        await throughput(target.chat, 2 * top, top, time_cap=10)
        if target.stream is not None:
            await throughput(target.stream, 2 * top, top, time_cap=10)


async def _load(results: Results, targets: list[Target], plan: Plan, upstream: Upstream) -> None:
    for target in targets:
        for kind in KINDS:
            call = target.chat if kind == "json" else target.stream
            if call is None:
                continue
            total = plan.json_total if kind == "json" else plan.sse_total
            for concurrency in CONCURRENCIES:
                cpu0, start = upstream.cpu_seconds(), time.perf_counter()
                run = await throughput(call, total, concurrency, plan.time_cap)
                busy = (upstream.cpu_seconds() - cpu0) / (time.perf_counter() - start)
                results.throughput[(target.name, kind, concurrency)].append(run)
                results.upstream_busy[(target.name, kind, concurrency)].append(busy)


async def measure(upstream: Upstream, plan: Plan, cpus: Cpus) -> tuple[Results, list[str], list[str]]:
    results = Results()
    async with AsyncExitStack() as stack:
        targets, raw = await open_targets(stack, upstream.url)
        upstream.pin(cpus.upstream)
        await _warm(targets)
        for round_no in range(plan.rounds):
            started = time.perf_counter()
            upstream.pin(cpus.client)
            calls = {t.name: t.chat for t in targets + raw}
            for name, latency in (await sequential(calls, plan.seq_calls, plan.warmup)).items():
                results.latency[name].append(latency)
            upstream.pin(cpus.upstream)
            shift = round_no % len(targets)
            await _load(results, targets[shift:] + targets[:shift], plan, upstream)
            results.round_notes.append(f"{time.perf_counter() - started:.1f} s, load {load_average()}")
            print(f"round {round_no + 1}/{plan.rounds}: {results.round_notes[-1]}", file=sys.stderr)
    return results, [t.name for t in targets], [t.name for t in raw]


def render(results: Results, main: list[str], raw: list[str], plan: Plan, facts: list[str]) -> str:
    lines = [
        "# httpx transport for the AI Gateway adapter",
        "",
        "Medians over interleaved rounds. Through `OpenAIChatCompletionsProvider` for the two httpx rows "
        "(`chat()` for JSON, `stream()` consumed to the end for SSE); the aiohttp row posts the same JSON "
        "and parses the body (and each SSE chunk) with `json.loads`. Zero-delay upstream in a separate process.",
        "",
        *main_table(results, main, raw),
        "",
        *ratio_table(results, main[0], main[1], raw[0], raw[1]),
        "",
        "## Spread",
        "",
        *spread_table(results, main),
        "",
        "## Errors and anomalies",
        "",
        *error_lines(results, main + raw),
        "",
        "## Run",
        "",
        *facts,
        f"- plan: {plan.describe()}",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 short rounds, under ~40 s")
    parser.add_argument("--out", type=Path, default=None, help="report path (default bench/results/transport*.md)")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    out: Path = args.out or REPO / "bench" / "results" / ("transport-quick.md" if args.quick else "transport.md")

    machine, load_before, started = machine_lines(), load_average(), time.perf_counter()
    cpus = Cpus(*pick_cpus())
    if cpus.client is not None:
        os.sched_setaffinity(0, {cpus.client})
    with upstream_process() as upstream:
        results, main_names, raw_names = asyncio.run(measure(upstream, plan, cpus))
    elapsed = time.perf_counter() - started

    pinning = (
        f"- pinning: client on CPU {cpus.client}; upstream on CPU {cpus.upstream} under load, "
        f"on CPU {cpus.client} for sequential calls (see `Cpus` in bench/transport.py)"
        if cpus.client is not None
        else "- pinning: none (fewer than 2 usable CPUs)"
    )
    facts = [
        f"- command: `.venv/bin/python -m bench.transport{' --quick' if args.quick else ''}` (from the repo root)",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; wall time {elapsed:.0f} s",
        *machine,
        pinning,
        f"- load average (1/5/15 min) before: {load_before}; after each round: "
        + "; ".join(f"{i}: {note}" for i, note in enumerate(results.round_notes, 1)),
    ]
    report = render(results, main_names, raw_names, plan, facts)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
