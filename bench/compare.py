"""`ideaforge serve` from several source trees, side by side: did a change make /v1 faster?

    .venv/bin/python -m bench.compare [--rounds 3] [--seconds 2] NAME=SRC_DIR[@VAR=VALUE...] [...]

A variant may add environment variables after `@`: `off=. on=.@IDEAFORGE_METRICS=true` runs this
tree with metrics off and on, side by side; "vs first variant" is each one's cost over the first,
as a share of the first's added latency and CPU. `SRC_DIR` holds an `ideaforge_gateway/` package
(a checkout of the repository with a change applied, say: its `ideaforge_gateway -> src` link);
`current` stands for this repository. Each variant runs as its own
`ideaforge serve` (PYTHONPATH=SRC_DIR, the project's venv, one shared temporary data dir), with the
naive aiohttp passthrough beside them as the floor; then, in rounds, sequential /v1 calls (the
variants taking turns in shuffled order) and wrk at 64 clients, JSON and SSE, in rotating order.
Prints medians and writes bench/results/compare.md. Same pinning as `bench.run`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import servers as S
from bench.environment import REPO, load_average, pick_cpus, upstream_process
from bench.proxy import LoadGen, ProxyTarget, json_sequential


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="NAME=SRC_DIR, or `current`")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--seq", type=int, default=200, help="sequential calls per target and round")
    parser.add_argument("--user", default="bench", choices=("bench", "bench-gw"), help="bench-gw: the AI Gateway user")
    args = parser.parse_args()
    variants: list[tuple[str, Path, dict[str, str]]] = []
    for spec in args.variants:
        name, _, rest = spec.partition("=")
        path, *settings = rest.split("@")
        extra = dict(setting.split("=", 1) for setting in settings)
        variants.append((name, Path(path).resolve() if path else REPO, extra))

    server_cpu, load_cpu = pick_cpus()
    if server_cpu is not None:
        os.sched_setaffinity(0, {server_cpu})
    cpus = {server_cpu} if server_cpu is not None else None
    work = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    rows: dict[str, dict[str, list[float]]] = {}
    with upstream_process("--uvloop") as upstream:
        setup = S.setup_ideaforge(upstream.url, work)
        floor = S.passthrough("aiohttp", upstream.url, cpus)
        servers = [floor]
        for name, src, extra in variants:
            server = S.ideaforge_server(setup, cpus, work)
            server.name = name
            server.env = {**setup.env, "PYTHONPATH": str(src), **extra}
            servers.append(server)
        try:
            for server in servers:
                server.start(timeout=60)
            direct = ProxyTarget("direct", "direct", upstream.url + "/v1/chat/completions", "k", upstream.pid)
            targets = [ProxyTarget("naive aiohttp (floor)", "floor", floor.chat_url, "k", floor.pid, floor)]
            targets += [ProxyTarget(s.name, s.name, s.chat_url, setup.tokens[args.user], s.pid, s) for s in servers[1:]]
            rows = {t.name: {} for t in targets}
            loadgen = LoadGen(load_cpu)
            for t in targets:
                for sse in (False, True):
                    loadgen.run(t, sse, 64, 1, 0)
            for round_no in range(args.rounds):
                if server_cpu is not None:
                    S.pin_tree(upstream.pid, {server_cpu})

                async def seq(seed: int) -> dict[str, Any]:
                    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                        return await json_sequential(session, [direct, *targets], args.seq, args.seq // 10, seed)

                result = asyncio.run(seq(round_no))
                for t in targets:
                    rows[t.name].setdefault("added", []).append(result[t.name].p50_us - result["direct"].p50_us)
                if load_cpu is not None:
                    S.pin_tree(upstream.pid, {load_cpu})
                shift = round_no % len(targets)
                for t in targets[shift:] + targets[:shift]:
                    for sse in (False, True):
                        kind = "sse" if sse else "json"
                        for s in servers:
                            asyncio.run(S.settle(s.pid, window=0.05, max_wait=3.0))
                        cpu0, t0 = S.cpu_seconds(t.pid), time.perf_counter()
                        run = loadgen.run(t, sse, 64, args.seconds, 0)
                        done = max(int(run.get("completed", 0)), 1)
                        rows[t.name].setdefault(f"{kind} rps", []).append(float(run["rps"]))
                        rows[t.name].setdefault(f"{kind} cpu", []).append((S.cpu_seconds(t.pid) - cpu0) / done * 1e6)
                        rows[t.name].setdefault(f"{kind} busy", []).append(
                            (S.cpu_seconds(t.pid) - cpu0) / (time.perf_counter() - t0)
                        )
                print(f"round {round_no + 1}/{args.rounds} done, load average {load_average()}", flush=True)
            loadgen.close()
        finally:
            for server in servers:
                server.stop()
    header = (
        "| variant | added p50 µs | vs first variant | JSON RPS c64 | JSON CPU µs/req | SSE RPS c64 | SSE CPU µs/req "
        "| core share JSON/SSE |"
    )
    lines = [header, "|" + "---|" * 8]
    first = rows[variants[0][0]] if variants else None
    for name, r in rows.items():
        # Each variant's cost over the first one, as a share of the first one's added latency and CPU.
        versus = (
            ""
            if first is None or r is first or name not in {v[0] for v in variants}
            else (
                f"{_med(r['added']) / _med(first['added']) - 1:+.1%} latency, "
                f"{_med(r['json cpu']) / _med(first['json cpu']) - 1:+.1%} / "
                f"{_med(r['sse cpu']) / _med(first['sse cpu']) - 1:+.1%} CPU"
            )
        )
        lines.append(
            f"| {name} | {_med(r['added']):,.0f} | {versus} | {_med(r['json rps']):,.0f} | "
            f"{_med(r['json cpu']):,.0f} | {_med(r['sse rps']):,.0f} | {_med(r['sse cpu']):,.0f} | "
            f"{_med(r['json busy']):.0%} / {_med(r['sse busy']):.0%} |"
        )
    spec = " ".join(args.variants)
    report = "\n".join(
        [
            "# /v1 variants side by side",
            "",
            f"`.venv/bin/python -m bench.compare --rounds {args.rounds} --seconds {args.seconds} --user {args.user} "
            f"{spec}`; medians over {args.rounds} rounds; user `{args.user}`. CPU µs/req = the server's CPU "
            "time per answered request (robust to other load on the machine); core share = that CPU time "
            "per wall second.",
            "",
            *lines,
            "",
        ]
    )
    out = REPO / "bench" / "results" / "compare.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
