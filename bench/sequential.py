"""Where a sequential /v1 call's time goes: latency, server CPU and context switches per call.

    .venv/bin/python -m bench.sequential [--calls 2000]

The upstream, the naive aiohttp passthrough (the floor), `ideaforge serve` and this client all
on one core, as `bench.run` measures sequential latency: one call at a time, per target, after a
warm-up. Per call: the p50 latency, the server's CPU time, and its voluntary and involuntary
context switches (from /proc/PID/task/*/status). Equal switches with unequal CPU say the extra
time is the server's own work, not waiting on threads or extra wake-ups.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench import servers as S
from bench.environment import upstream_process
from bench.proxy import ProxyTarget, json_call


def _switches(pid: int) -> tuple[int, int]:
    voluntary = involuntary = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                involuntary += int(line.split()[1])
    return voluntary, involuntary


async def _calls(target: ProxyTarget, calls: int) -> list[float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        call = json_call(session, target)
        for _ in range(calls // 10):
            await call()
        took = []
        for _ in range(calls):
            started = time.perf_counter()
            await call()
            took.append(time.perf_counter() - started)
        return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    core = {min(os.sched_getaffinity(0))}
    os.sched_setaffinity(0, core)
    work = Path(tempfile.mkdtemp(prefix="bench-sequential-"))
    with upstream_process("--uvloop") as upstream:
        S.pin_tree(upstream.pid, core)
        setup = S.setup_ideaforge(upstream.url, work)
        floor = S.passthrough("aiohttp", upstream.url, core).start()
        ours = S.ideaforge_server(setup, core, work).start()
        try:
            targets = [
                ProxyTarget("direct to upstream", "direct", f"{upstream.url}/v1/chat/completions", "k", upstream.pid),
                ProxyTarget("naive aiohttp (floor)", "floor", floor.chat_url, "k", floor.pid, floor),
                ProxyTarget("ideaforge /v1", "ours", ours.chat_url, setup.tokens["bench"], ours.pid, ours),
            ]
            print(f"| target ({calls} calls) | p50 µs | server CPU µs/call | switches per call, voluntary / not |")
            print("|---|---|---|---|")
            for target in targets:
                cpu, (vol, inv) = S.cpu_seconds(target.pid), _switches(target.pid)
                took = asyncio.run(_calls(target, calls))
                n = calls + calls // 10
                cpu_us = (S.cpu_seconds(target.pid) - cpu) / n * 1e6
                vol2, inv2 = _switches(target.pid)
                print(
                    f"| {target.name} | {statistics.median(took) * 1e6:,.0f} | {cpu_us:,.0f} | "
                    f"{(vol2 - vol) / n:.2f} / {(inv2 - inv) / n:.2f} |",
                    flush=True,
                )
        finally:
            floor.stop()
            ours.stop()


if __name__ == "__main__":
    main()
