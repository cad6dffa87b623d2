"""Results across rounds, reduced to medians, and rendered as the Markdown report."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.measure import Latency, Throughput

Kind = str  # "json" or "sse"
CONCURRENCIES = (16, 64)
KINDS: tuple[Kind, ...] = ("json", "sse")


@dataclass
class Results:
    latency: dict[str, list[Latency]] = field(default_factory=lambda: defaultdict(list))
    throughput: dict[tuple[str, Kind, int], list[Throughput]] = field(default_factory=lambda: defaultdict(list))
    upstream_busy: dict[tuple[str, Kind, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    """Upstream CPU seconds per wall second during each throughput run (1.0 = its core is saturated)."""
    round_notes: list[str] = field(default_factory=list)

    def p50(self, target: str) -> float:
        return _median(lat.p50_us for lat in self.latency[target])

    def p99(self, target: str) -> float:
        return _median(lat.p99_us for lat in self.latency[target])

    def rps(self, target: str, kind: Kind, concurrency: int) -> float:
        return _median(t.rps for t in self.throughput[(target, kind, concurrency)])

    def cpu_us(self, target: str, kind: Kind, concurrency: int) -> float:
        return _median(t.client_cpu_us for t in self.throughput[(target, kind, concurrency)])

    def errors(self, target: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for lat in self.latency[target]:
            total.update(lat.errors)
        for (name, kind, concurrency), runs in self.throughput.items():
            if name == target:
                for run in runs:
                    total.update({f"[{kind} c{concurrency}] {k}": v for k, v in run.errors.items()})
        return total

    def capped(self) -> list[str]:
        return [f"{n} {k} c{c}" for (n, k, c), runs in self.throughput.items() if any(r.capped for r in runs)]


def _median(values: Iterable[float]) -> float:
    found = [v for v in values if not math.isnan(v)]
    return statistics.median(found) if found else float("nan")


def _num(value: float, digits: int = 0) -> str:
    return "—" if math.isnan(value) else f"{value:,.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def main_table(results: Results, main: Sequence[str], raw: Sequence[str]) -> list[str]:
    header = ["client", "seq p50 µs", "seq p99 µs"]
    header += [f"{k.upper()} RPS c{c}" for k in KINDS for c in CONCURRENCIES]
    header += ["client CPU µs/req JSON c64", "client CPU µs/req SSE c64", "errors"]
    rows = []
    for name in main:
        row = [name, _num(results.p50(name)), _num(results.p99(name))]
        row += [_num(results.rps(name, k, c)) for k in KINDS for c in CONCURRENCIES]
        row += [_num(results.cpu_us(name, "json", 64)), _num(results.cpu_us(name, "sse", 64))]
        rows.append([*row, str(sum(results.errors(name).values()))])
    for name in raw:
        blank = ["—"] * (len(KINDS) * len(CONCURRENCIES) + 2)
        rows.append(
            [name, _num(results.p50(name)), _num(results.p99(name)), *blank, str(sum(results.errors(name).values()))]
        )
    return _table(header, rows)


def ratio_table(results: Results, default: str, aio: str, raw_default: str, raw_aio: str) -> list[str]:
    def ratio(a: float, b: float) -> str:
        return "—" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.2f}x"

    rows = [
        [f"{k.upper()} RPS c{c}", ratio(results.rps(aio, k, c), results.rps(default, k, c))]
        for k in KINDS
        for c in CONCURRENCIES
    ]
    rows.append(["sequential p50 (default ÷ aiohttp: speed-up)", ratio(results.p50(default), results.p50(aio))])
    rows += [
        [
            f"client CPU µs/req {k.upper()} c64 (default ÷ aiohttp)",
            ratio(results.cpu_us(default, k, 64), results.cpu_us(aio, k, 64)),
        ]
        for k in KINDS
    ]
    lines = _table(["AiohttpTransport vs default transport", "ratio"], rows)
    lines += [
        "",
        *_table(
            ["provider wrapper overhead (provider p50 - raw httpx p50)", "µs, of medians", "µs, each round"],
            [
                ["default transport", *_overhead(results, default, raw_default)],
                ["AiohttpTransport", *_overhead(results, aio, raw_aio)],
            ],
        ),
    ]
    return lines


def _overhead(results: Results, provider: str, raw: str) -> list[str]:
    pairs = zip(results.latency[provider], results.latency[raw], strict=True)
    return [_num(results.p50(provider) - results.p50(raw)), ", ".join(_num(p.p50_us - r.p50_us) for p, r in pairs)]


def spread_table(results: Results, main: Sequence[str]) -> list[str]:
    """Per-round values at c64, to show how noisy the medians are, and how busy the upstream was."""
    rows = []
    for name in main:
        for kind in KINDS:
            key = (name, kind, 64)
            per_round = ", ".join(_num(t.rps) for t in results.throughput[key])
            busy = max(results.upstream_busy[key], default=float("nan")) * 100
            rows.append([name, kind.upper(), per_round, _num(busy)])
    return _table(["client", "kind", "RPS c64 in each round", "upstream CPU % (max round)"], rows)


def error_lines(results: Results, names: Sequence[str]) -> list[str]:
    lines = []
    for name in names:
        for label, count in results.errors(name).most_common():
            lines.append(f"- {name}: {count} x `{label}`")
    for (name, kind, concurrency), runs in results.throughput.items():
        values = [r.rps for r in runs if r.rps > 0]
        if concurrency == max(CONCURRENCIES) and len(values) > 1 and max(values) > 1.5 * min(values):
            lines.append(
                f"- noisy: {name} {kind.upper()} c{concurrency} ranged {min(values):,.0f}-{max(values):,.0f} RPS"
            )
    for (name, kind, concurrency), busy in results.upstream_busy.items():
        if busy and max(busy) > 0.8:
            lines.append(
                f"- upstream-bound: {name} {kind.upper()} c{concurrency} kept the upstream's core "
                f"{max(busy):.0%} busy in one round, so that figure is a lower bound for the client"
            )
    capped = results.capped()
    if capped:
        lines.append(f"- hit the per-run time cap (RPS counts what finished): {', '.join(capped)}")
    return lines or ["- none"]
