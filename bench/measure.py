"""Sequential latency and fixed-count throughput of one `Call`, with errors counted, not raised."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # so that processes without the project (the LiteLLM venv) can use these helpers
    from bench.targets import Call


@dataclass(frozen=True, slots=True)
class Latency:
    p50_us: float
    p99_us: float
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Throughput:
    """`capped`: the time cap stopped the run before `total` requests; `rps` counts what finished."""

    rps: float
    completed: int
    client_cpu_us: float
    """Client process CPU per completed request (all threads)."""
    errors: Counter[str] = field(default_factory=Counter)
    capped: bool = False


def _label(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    detail = f" <- {type(cause).__name__}" if cause is not None else ""
    return f"{type(exc).__name__}{detail}: {str(exc)[:80]}"


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


async def sequential(calls: Mapping[str, Call], n: int, warmup: int) -> dict[str, Latency]:
    """One call at a time, the clients taking turns call by call (in a rotating order), so that
    noise from the rest of the machine falls on all of them alike."""
    names = list(calls)
    errors: dict[str, Counter[str]] = {name: Counter() for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(warmup + n):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            try:
                await calls[name]()
            except Exception as exc:
                errors[name][_label(exc)] += 1
                continue
            if i >= warmup:
                samples[name].append(time.perf_counter() - start)
    return {name: _latency(samples[name], errors[name]) for name in names}


def _latency(samples: list[float], errors: Counter[str]) -> Latency:
    if not samples:
        return Latency(float("nan"), float("nan"), errors)
    samples.sort()
    return Latency(statistics.median(samples) * 1e6, _percentile(samples, 0.99) * 1e6, errors)


async def throughput(call: Call, total: int, concurrency: int, time_cap: float) -> Throughput:
    """`concurrency` workers take requests off one counter until `total` have been sent."""
    errors: Counter[str] = Counter()
    remaining = total
    completed = 0
    deadline = time.perf_counter() + time_cap

    async def worker() -> None:
        nonlocal remaining, completed
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            try:
                await call()
            except Exception as exc:
                errors[_label(exc)] += 1
            else:
                completed += 1

    cpu0, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return Throughput(
        rps=completed / wall,
        completed=completed,
        client_cpu_us=cpu / max(completed, 1) * 1e6,
        errors=errors,
        capped=remaining > 0,
    )
