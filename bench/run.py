"""The gateway benchmark, side by side with the floor and with LiteLLM, in one run.

    .venv/bin/python -m bench.run [--quick]          # from the repo root

Sets up what it needs outside the repo (LiteLLM's proxy, pinned, in a venv of its own; matplotlib
and py-spy in a tools venv; wrk from Debian when it is missing and we may install it), then,
everything on 127.0.0.1 against `bench.upstream` (a zero-delay OpenAI-compatible server with a
token endpoint):

1. Proxies: the upstream directly; naive FastAPI passthroughs on httpx and on aiohttp; LiteLLM's
   proxy; `ideaforge serve`'s `/v1/chat/completions` for a user on the operator's OpenAI-compatible
   upstream, and for a user with their own AI Gateway credentials (OAuth2 token endpoint).
   Sequential p50/p99, time to the first SSE chunk, requests/s at 16 and 64 concurrent clients.
2. In-process: raw httpx vs this project's provider and chain (`bench.inprocess`) vs
   `litellm.acompletion` (`bench.litellm_inprocess`, in LiteLLM's venv).
3. Token reuse: 1,000 concurrent cold-start callers, in process and through `/v1`.
4. Fallback: a primary that refuses connections; a primary behind an open breaker.
5. Start-up: `ideaforge --help`, server start to ready, idle and peak RSS.
6. A py-spy profile of `ideaforge serve` under load.

Targets interleave (call by call for latency, run by run in rotating order for throughput) over
rounds; the report gives medians over rounds. Writes `docs/benchmarks.md`, `docs/benchmarks.png`
and the raw numbers in `bench/results/run.json` (`-quick` variants with `--quick`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import servers as S
from bench.environment import REPO, Upstream, load_average, pick_cpus, upstream_process
from bench.profile import profile_server
from bench.proxy import LoadGen, ProxyTarget, burst, json_sequential, stream_sequential
from bench.summary import render

CONCURRENCIES = (16, 64)
KINDS = ("json", "sse")


@dataclass(frozen=True, slots=True)
class Plan:
    rounds: int
    seq_n: int
    seq_warmup: int
    sse_n: int
    load_seconds: int
    warm_seconds: int
    inproc_n: int
    fallback_n: int
    fallback_slow_n: int
    token_callers: int
    help_runs: int
    restarts: int
    profile_seconds: int


FULL = Plan(
    rounds=5,
    seq_n=250,
    seq_warmup=25,
    sse_n=120,
    load_seconds=2,
    warm_seconds=1,
    inproc_n=400,
    fallback_n=300,
    fallback_slow_n=30,
    token_callers=1000,
    help_runs=7,
    restarts=5,
    profile_seconds=8,
)
QUICK = Plan(
    rounds=1,
    seq_n=80,
    seq_warmup=10,
    sse_n=40,
    load_seconds=2,
    warm_seconds=1,
    inproc_n=200,
    fallback_n=120,
    fallback_slow_n=10,
    token_callers=1000,
    help_runs=3,
    restarts=1,
    profile_seconds=2,
)


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def ensure_wrk() -> str:
    """wrk from Debian, when missing and we are root with apt; else the Python load generator."""
    if shutil.which("wrk"):
        return "wrk"
    if os.environ.get("BENCH_LOADGEN") == "python" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return "python"
    say("installing wrk from Debian (once)")
    for attempt in range(2):
        if attempt:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, check=False)
        if done.returncode == 0 and shutil.which("wrk"):
            return "wrk"
    say("could not install wrk: using the Python load generator")
    return "python"


class Workers:
    """The two in-process workers (this project's and LiteLLM's), driven round by round."""

    def __init__(self, upstream: str, litellm_python: Path, cpu: int | None) -> None:
        preexec = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        common: dict[str, Any] = {"cwd": REPO, "stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
        self.ours = subprocess.Popen([sys.executable, "-m", "bench.inprocess", upstream], preexec_fn=preexec, **common)
        self.theirs = subprocess.Popen(
            [str(litellm_python), "-m", "bench.litellm_inprocess", upstream],
            preexec_fn=preexec,
            env=S.clean_env(PYTHONPATH=str(REPO)),
            **common,
        )
        for proc in (self.ours, self.theirs):
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"in-process worker {proc.args!r} did not start")

    @staticmethod
    def ask(proc: subprocess.Popen[str], **command: Any) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(command) + "\n")
        proc.stdin.flush()
        return dict(json.loads(proc.stdout.readline()))

    def close(self) -> None:
        for proc in (self.ours, self.theirs):
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _reset_peak(pid: int) -> None:
    """Reset VmHWM (`clear_refs` 5), so the next reading is the peak from now on."""
    for p in S.tree(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{p}/clear_refs").write_text("5")


def time_help(runs: int, env: dict[str, str], cwd: Path, cpu: int | None) -> dict[str, Any]:
    preexec = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    walls = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(
            [str(S.IDEAFORGE), "--help"], env=env, cwd=cwd, capture_output=True, check=True, preexec_fn=preexec
        )
        walls.append(time.perf_counter() - started)
    return {"first_s": walls[0], "median_s": statistics.median(walls[1:]), "max_s": max(walls[1:]), "runs": runs}


class Bench:
    def __init__(self, plan: Plan, quick: bool) -> None:
        from bench.environment import machine_lines

        self.machine = machine_lines()  # before this process pins itself to one core
        self.plan = plan
        self.quick = quick
        server_cpu, load_cpu = pick_cpus()
        self.server_cpu = server_cpu
        self.load_cpu = load_cpu
        self.R: dict[str, Any] = {
            "plan": asdict(plan),
            "quick": quick,
            "cpus": {"server": server_cpu, "load": load_cpu},
            "rounds": [],
            "load_average": {"before": load_average()},
            "machine": self.machine,
        }

    def pin(self, pid: int, cpu: int | None) -> None:
        if cpu is not None:
            S.pin_tree(pid, {cpu})

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.R["loadgen"] = ensure_wrk()
        litellm_python = S.ensure_litellm(say)
        tools_python = S.ensure_tools(say)
        self.R["tools_python"] = str(tools_python)
        self.R["versions"] = {
            "litellm": S.version_of(litellm_python, "litellm"),
            "litellm venv httpx": S.version_of(litellm_python, "httpx"),
            "litellm venv openai": S.version_of(litellm_python, "openai"),
            "py-spy": subprocess.run(
                [str(S.TOOLS_VENV / "bin" / "py-spy"), "--version"], capture_output=True, text=True, check=False
            ).stdout.strip(),
            "wrk": (
                subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()
                or ["absent"]
            )[0]
            if shutil.which("wrk")
            else "absent",
        }
        if self.server_cpu is not None:
            os.sched_setaffinity(0, {self.server_cpu})
        work = Path(tempfile.mkdtemp(prefix="bench-run-"))
        say(f"work dir {work}; servers on CPU {self.server_cpu}, load on CPU {self.load_cpu}")
        with upstream_process("--uvloop") as upstream:
            self.pin(upstream.pid, self.load_cpu)
            try:
                self._measure(upstream, work, litellm_python)
            finally:
                for server in getattr(self, "servers", []):
                    server.stop()
        self.R["wall_s"] = time.perf_counter() - started
        self.R["load_average"]["after"] = load_average()
        shutil.rmtree(work, ignore_errors=True)
        return self.R

    def _measure(self, upstream: Upstream, work: Path, litellm_python: Path) -> None:
        plan = self.plan
        setup = S.setup_ideaforge(upstream.url, work)
        say("timing `ideaforge --help`")
        self.R["help"] = time_help(plan.help_runs, setup.env, work, self.server_cpu)
        cpus = {self.server_cpu} if self.server_cpu is not None else None
        naive_httpx = S.passthrough("httpx", upstream.url, cpus)
        naive_aiohttp = S.passthrough("aiohttp", upstream.url, cpus)
        litellm = S.litellm_proxy(litellm_python, upstream.url, cpus, work)
        ours = S.ideaforge_server(setup, cpus, work)
        self.servers = [naive_httpx, naive_aiohttp, litellm, ours]
        for server in self.servers:
            say(f"starting {server.name}")
            server.start(timeout=120)
        self.R["servers"] = {s.name: {"ready_s": s.ready_s, "idle_rss_mib": s.idle_rss} for s in self.servers}

        # Token reuse through /v1, while the user's AI Gateway client is cold.
        say(f"cold burst of {plan.token_callers} concurrent /v1 callers (user with AI Gateway credentials)")
        before = int(S.get_json(upstream.url + "/_stats")["token_requests"].get(S.GW_CLIENT_ID, 0))  # type: ignore[attr-defined]
        cold = asyncio.run(burst(ours.chat_url, setup.tokens["bench-gw"], plan.token_callers))
        after = int(S.get_json(upstream.url + "/_stats")["token_requests"].get(S.GW_CLIENT_ID, 0))  # type: ignore[attr-defined]
        say(f"cold burst done in {cold['wall_s']:.1f} s; warm burst")
        warm = asyncio.run(burst(ours.chat_url, setup.tokens["bench-gw"], plan.token_callers))
        final = int(S.get_json(upstream.url + "/_stats")["token_requests"].get(S.GW_CLIENT_ID, 0))  # type: ignore[attr-defined]
        self.R["token_e2e"] = {
            "cold": {**cold, "token_requests": after - before},
            "warm": {**warm, "token_requests": final - after},
            "peak_rss_mib": S.peak_rss_mib(ours.pid),
        }

        say(f"warm burst done in {warm['wall_s']:.1f} s")
        targets = [
            ProxyTarget("direct to upstream", "direct", upstream.url + "/v1/chat/completions", "k", upstream.pid),
            ProxyTarget(
                "naive FastAPI + httpx", "naive httpx", naive_httpx.chat_url, "k", naive_httpx.pid, naive_httpx
            ),
            ProxyTarget(
                "naive FastAPI + aiohttp",
                "naive aiohttp",
                naive_aiohttp.chat_url,
                "k",
                naive_aiohttp.pid,
                naive_aiohttp,
            ),
            ProxyTarget(
                f"LiteLLM proxy {S.LITELLM_VERSION}",
                "LiteLLM",
                litellm.chat_url,
                S.LITELLM_MASTER_KEY,
                litellm.pid,
                litellm,
            ),
            ProxyTarget(
                "ideaforge /v1 (operator's OpenAI-compatible upstream)",
                "ideaforge",
                ours.chat_url,
                setup.tokens["bench"],
                ours.pid,
                ours,
            ),
            ProxyTarget(
                "ideaforge /v1 (user's AI Gateway, OAuth2)",
                "ideaforge (AI GW)",
                ours.chat_url,
                setup.tokens["bench-gw"],
                ours.pid,
                ours,
            ),
        ]
        self.R["targets"] = [{"name": t.name, "short": t.short} for t in targets]
        loadgen = LoadGen(self.load_cpu)
        self.R["loadgen"] = loadgen.backend
        workers = Workers(upstream.url, litellm_python, self.server_cpu)
        try:
            say("warm-up pass")
            for target in targets:
                for sse in (False, True) if not self.quick else (False,):
                    loadgen.run(target, sse, max(CONCURRENCIES), plan.warm_seconds, 0)
            for server in self.servers:
                _reset_peak(server.pid)
            for round_no in range(plan.rounds):
                self._round(round_no, targets, upstream, loadgen, workers)
            self.R["peak_rss_mib"] = {s.name: S.peak_rss_mib(s.pid) for s in self.servers}
            self.R["rss_after_load_mib"] = {s.name: S.rss_mib(s.pid) for s in self.servers}

            self.pin(upstream.pid, self.server_cpu)
            say("token reuse in process")
            self.R["token_inprocess"] = Workers.ask(workers.ours, op="tokens", callers=plan.token_callers)
            say("fallback cost in process")
            self.R["fallback"] = Workers.ask(
                workers.ours, op="fallback", n=plan.fallback_n, n_slow=plan.fallback_slow_n
            )
            self.pin(upstream.pid, self.load_cpu)
        finally:
            workers.close()

        say("profiling ideaforge serve under load (py-spy)")
        self.R["profile"] = profile_server(
            ours.pid,
            lambda sse: loadgen.run(targets[4], sse, 64, plan.profile_seconds, 0),
            plan.profile_seconds,
            self.load_cpu,
            REPO / "bench" / "results",
            self.quick,
        )
        loadgen.close()

        say("restarts of ideaforge serve (start to ready, idle RSS)")
        starts = [{"ready_s": ours.ready_s, "idle_rss_mib": ours.idle_rss}]
        for _ in range(plan.restarts):
            again = S.ideaforge_server(setup, cpus, work).start(timeout=60)
            starts.append({"ready_s": again.ready_s, "idle_rss_mib": again.idle_rss})
            again.stop()
        self.R["ideaforge_starts"] = starts

    def _round(
        self, round_no: int, targets: list[ProxyTarget], upstream: Upstream, loadgen: LoadGen, workers: Workers
    ) -> None:
        plan = self.plan
        started = time.perf_counter()
        out: dict[str, Any] = {"seq": {}, "sse": {}, "load": {}, "inprocess": {}}
        # Sequential: client, server under test and upstream on one core (no cross-core wake-ups).
        self.pin(upstream.pid, self.server_cpu)

        async def sequential_phase() -> None:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
                seq = await json_sequential(session, targets, plan.seq_n, plan.seq_warmup, seed=round_no)
                for name, lat in seq.items():
                    out["seq"][name] = {"p50_us": lat.p50_us, "p99_us": lat.p99_us, "errors": dict(lat.errors)}
                streams = await stream_sequential(
                    session, targets, plan.sse_n, max(3, plan.seq_warmup // 2), seed=100 + round_no
                )
                out["sse"] = {name: asdict(s) for name, s in streams.items()}

        asyncio.run(sequential_phase())
        out["inprocess"]["ours"] = Workers.ask(
            workers.ours, op="round", n=plan.inproc_n, warmup=max(10, plan.inproc_n // 10)
        )
        out["inprocess"]["litellm"] = Workers.ask(
            workers.theirs, op="round", n=plan.inproc_n, warmup=max(10, plan.inproc_n // 10)
        )
        # Load: servers on their core, upstream and load generator on the other.
        self.pin(upstream.pid, self.load_cpu)
        shift = round_no % len(targets)
        order = targets[shift:] + targets[:shift]
        for kind in KINDS:
            for concurrency in CONCURRENCIES:
                for target in order:
                    out["load"][f"{target.name}|{kind}|{concurrency}"] = self._load_run(
                        target, upstream, loadgen, kind == "sse", concurrency
                    )
        out["seconds"] = time.perf_counter() - started
        out["load_average"] = load_average()
        self.R["rounds"].append(out)
        say(f"round {round_no + 1}/{plan.rounds}: {out['seconds']:.0f} s, load average {out['load_average']}")

    def _load_run(
        self, target: ProxyTarget, upstream: Upstream, loadgen: LoadGen, sse: bool, concurrency: int
    ) -> dict[str, Any]:
        for server in self.servers:  # the previous run's stragglers finish before this run's clock starts
            asyncio.run(S.settle(server.pid, window=0.05, max_wait=3.0))
        server_cpu0 = S.cpu_seconds(target.pid)
        upstream_cpu0 = S.cpu_seconds(upstream.pid)
        core0 = S.core_ticks(self.server_cpu)
        started = time.perf_counter()
        result = loadgen.run(target, sse, concurrency, self.plan.load_seconds, 0)
        wall = time.perf_counter() - started
        core1 = S.core_ticks(self.server_cpu)
        result["server_core_busy"] = (core1[0] - core0[0]) / max(core1[1] - core0[1], 1)
        server_cpu = S.cpu_seconds(target.pid) - server_cpu0
        upstream_cpu = S.cpu_seconds(upstream.pid) - upstream_cpu0
        completed = max(int(result.get("completed", 0)), 1)
        result["server_cpu_us"] = server_cpu / completed * 1e6
        result["server_busy"] = server_cpu / wall
        result["upstream_busy"] = upstream_cpu / wall
        load_cpu_s = float(result.get("loadgen_cpu_us", 0.0)) * completed / 1e6
        result["load_core_busy"] = (upstream_cpu + load_cpu_s) / wall if target.server is not None else float("nan")
        return result


def write_outputs(R: dict[str, Any], quick: bool, out: Path, command: str) -> None:
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    raw = results / ("run-quick.json" if quick else "run.json")
    raw.write_text(json.dumps(R, indent=1, default=str))
    chart = out.with_suffix(".png")
    chart_data = render(R, command=command, chart=chart.name, out=out)
    data_file = results / ("chart-quick.json" if quick else "chart.json")
    data_file.write_text(json.dumps(chart_data))
    done = subprocess.run(
        [R["tools_python"], "-m", "bench.chart", str(data_file), str(chart)], cwd=REPO, capture_output=True, text=True
    )
    if done.returncode != 0:
        say(f"chart failed: {done.stderr[-400:]}")
    say(f"wrote {out}, {chart} and {raw}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round (about 2 minutes)")
    parser.add_argument("--out", type=Path, default=None, help="report path (default docs/benchmarks.md)")
    parser.add_argument(
        "--render-only", type=Path, default=None, help="re-render the report from a saved run.json, measuring nothing"
    )
    args = parser.parse_args()
    out: Path = args.out or REPO / "docs" / "benchmarks.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = f".venv/bin/python -m bench.run{' --quick' if args.quick else ''}"
    if args.render_only:
        R = json.loads(args.render_only.read_text())
        write_outputs(R, bool(R.get("quick")), out, R.get("command", command))
        return
    R = Bench(QUICK if args.quick else FULL, args.quick).run()
    R["command"] = command
    R["date"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}"
    write_outputs(R, args.quick, out, command)


if __name__ == "__main__":
    main()
