"""Load and long fault runs against a real `ideaforge serve`, for docs/reliability.md.

    .venv/bin/python -m bench.reliability_load [--requests 500] [--rounds 3] [--faults] [--quick]

- Load: `ideaforge serve` (one process, SQLite, one user whose OpenAI credentials point at
  `bench.reliability_upstream` in its own process) takes `--requests` concurrent streaming
  `/v1/chat/completions`, `--rounds` times. Every stream must end with `[DONE]` and the whole
  answer. Reported: errors, latency, the server's RSS (before, peak, after each round) and its open
  file descriptors (before, after), from /proc/<pid>.
- `--faults` adds the long runs: a 429 storm (`Retry-After: 1` on every request) at the user's AI
  Gateway for a minute, OpenAI healthy behind it; and a minute of slow-drip streams.
Writes the `load` and `long-faults` sections of docs/reliability.md and prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.reliability_upstream import ANSWER
from devkit.proc import open_fds, rss_kib
from devkit.report import Section, machine_lines, machine_summary, write_sections
from ideaforge_gateway.adapters.crypto.aesgcm_cipher import KeyRing

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("ideaforge")


@dataclass
class Round:
    requests: int
    seconds: float
    errors: Counter[str]
    latencies: list[float]
    first_bytes: list[float]
    rss_before: int
    rss_peak: int
    rss_after: int
    fds_before: int
    fds_after: int
    sockets_before: int
    sockets_after: int
    settle_seconds: float
    fds_idle: int
    """One second after the burst: the client has gone, idle pooled upstream connections remain."""


@dataclass
class Served:
    url: str
    pid: int
    token: str
    env: dict[str, str]
    upstreams: dict[str, str] = field(default_factory=dict)


@contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None, ready: str = "READY"
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith(ready):
            raise RuntimeError(f"{args[:3]} did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        yield proc, line
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def upstream(mode: str, drip_seconds: float = 60.0) -> Iterator[str]:
    args = [sys.executable, "-m", "bench.reliability_upstream", "--mode", mode, "--drip-seconds", str(drip_seconds)]
    with process(args) as (_, line):
        yield f"http://127.0.0.1:{line.split()[1]}"


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([str(SCRIPT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False, cwd=env["IDEAFORGE_DATA_DIR"])  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"ideaforge {' '.join(args[:3])} failed: {done.stderr}")
    return done.stdout


@contextmanager
def serve(providers: dict[str, str], **extra_env: str) -> Iterator[Served]:
    """`ideaforge serve` with one user whose providers are `providers` (name -> upstream URL)."""
    with tempfile.TemporaryDirectory(prefix="ideaforge-load-") as folder:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AI_GATEWAY_", "OPENAI_", "IDEAFORGE_"))}
        env = {
            **base,
            "IDEAFORGE_DATA_DIR": folder,
            "IDEAFORGE_ENCRYPTION_KEYS": KeyRing.generate_entry("load"),
            "IDEAFORGE_ALLOW_PRIVATE_BASE_URLS": "true",
            **extra_env,
        }
        token = json.loads(cli(env, "users", "create", "load", "--json"))["token"]
        for name, url in providers.items():
            if name == "ai_gateway":
                cli(env, "providers", "configure", "ai_gateway", "--user", "load", "--client-id", "bench",
                    "--auth-method", "static_key", "--base-url", url, stdin="secret\n")  # fmt: skip
            else:
                cli(env, "providers", "configure", name, "--user", "load", "--base-url", f"{url}/v1", stdin="sk-b\n")
        port = _free_port()
        proc = subprocess.Popen([str(SCRIPT), "serve", "--port", str(port)], env=env, cwd=folder,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, proc)
            yield Served(url, proc.pid, token, env, dict(providers))
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[str]) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("serve did not become healthy")


class RssSampler:
    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid, self.every, self.peak = pid, every, rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


async def one_stream(session: aiohttp.ClientSession, url: str, token: str, model: str) -> tuple[float, float]:
    """One streamed completion read to the end; (seconds to first byte, total seconds). Raises on anything wrong."""
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "Say the sentence."}]}
    started = time.perf_counter()
    async with session.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {(await r.text())[:120]}")
        first = None
        raw = b""
        async for piece in r.content.iter_any():
            first = first or time.perf_counter() - started
            raw += piece
    events = [e.removeprefix("data: ") for e in raw.decode().split("\n\n") if e.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        raise RuntimeError(f"no [DONE]: {raw[-200:]!r}")
    text = "".join(c["delta"].get("content") or "" for e in events[:-1] for c in json.loads(e).get("choices", []))
    if text != ANSWER:
        raise RuntimeError(f"wrong answer: {text[:80]!r}")
    return first or 0.0, time.perf_counter() - started


async def burst(
    served: Served, count: int, model: str = "fast"
) -> tuple[Counter[str], list[float], list[float], float]:
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    first_bytes: list[float] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        gate = asyncio.Event()

        async def one() -> None:
            await gate.wait()
            try:
                first, total = await one_stream(session, served.url, served.token, model)
            except Exception as exc:
                errors[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1
            else:
                first_bytes.append(first)
                latencies.append(total)

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        gate.set()  # all at once
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
    return errors, latencies, first_bytes, seconds


def settle_fds(pid: int, baseline: int, timeout: float = 90.0) -> tuple[int, int, float]:
    """(fds, sockets, seconds waited) once the server's fds are back to `baseline`, or at `timeout`:
    idle pooled connections to the upstream are closed after the 30 s keep-alive expiry, which
    aiohttp checks on a timer of the same period, so this can take up to a minute."""
    started = time.monotonic()
    while True:
        fds, sockets = open_fds(pid)
        waited = time.monotonic() - started
        if fds <= baseline or waited > timeout:
            return fds, sockets, waited
        time.sleep(0.25)


def load_rounds(served: Served, requests: int, rounds: int) -> list[Round]:
    asyncio.run(burst(served, 20))  # warm: imports, pools, the user's cached credentials
    time.sleep(1.0)
    results = []
    for _ in range(rounds):
        fds_before, sockets_before = open_fds(served.pid)
        rss_before = rss_kib(served.pid)
        with RssSampler(served.pid) as sampler:
            errors, latencies, first_bytes, seconds = asyncio.run(burst(served, requests))
        time.sleep(1.0)
        fds_idle = open_fds(served.pid)[0]
        fds_after, sockets_after, waited = settle_fds(served.pid, fds_before)
        results.append(
            Round(requests, seconds, errors, latencies, first_bytes, rss_before, sampler.peak, rss_kib(served.pid),
                  fds_before, fds_after, sockets_before, sockets_after, waited + 1.0, fds_idle)
        )  # fmt: skip
        print(f"round: {requests} streams in {seconds:.2f} s, errors {sum(errors.values())}, "
              f"RSS {rss_before // 1024}->{sampler.peak // 1024}->{results[-1].rss_after // 1024} MiB, "
              f"fds {fds_before}->{fds_after} (after {waited:.1f} s)", flush=True)  # fmt: skip
    return results


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def load_section(results: list[Round]) -> Section:
    section = Section(
        "load",
        "Load: concurrent streaming through `/v1`",
        "`ideaforge serve` (one process, SQLite) with one user whose OpenAI credentials point at a local "
        "zero-delay upstream in its own process; each round opens every stream at once "
        "(`/v1/chat/completions`, `stream: true`, read to `[DONE]`, answer checked). RSS and file descriptors "
        "are the server process's, from /proc; `fds after` is read once they are back to the round's baseline "
        "(idle pooled connections to the upstream close after the 30 s keep-alive expiry, checked on a timer "
        "of the same period), or after 90 s.",
        ["round", "streams", "errors", "wall s", "p50 s", "p99 s", "first byte p50 s",
         "RSS before MiB", "RSS peak MiB", "RSS after MiB", "fds before", "fds 1 s after (idle pool)",
         "fds after", "fds back after s"],
    )  # fmt: skip
    for n, r in enumerate(results, start=1):
        section.add(n, r.requests, sum(r.errors.values()), r.seconds, _pct(r.latencies, 0.5), _pct(r.latencies, 0.99),
                    _pct(r.first_bytes, 0.5), r.rss_before / 1024, r.rss_peak / 1024, r.rss_after / 1024,
                    r.fds_before, r.fds_idle, r.fds_after, r.settle_seconds)  # fmt: skip
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    section.notes.append(f"errors: {dict(errors) or 'none'}")
    growth = (results[-1].rss_after - results[0].rss_after) / 1024 if len(results) > 1 else 0.0
    section.notes.append(f"RSS growth from the end of round 1 to the end of round {len(results)}: {growth:+.1f} MiB")
    return section


# Long fault runs.
async def steady(served: Served, seconds: float, concurrency: int) -> tuple[Counter[str], list[float], Counter[str]]:
    """`concurrency` clients sending streams back to back for `seconds`; who answered each."""
    errors: Counter[str] = Counter()
    who: Counter[str] = Counter()
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    body = {"model": "fast", "stream": True, "messages": [{"role": "user", "content": "Say the sentence."}]}
    headers = {"Authorization": f"Bearer {served.token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:

        async def client() -> None:
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    async with session.post(f"{served.url}/v1/chat/completions", json=body, headers=headers) as r:
                        raw = await r.read()
                        if r.status != 200 or not raw.rstrip().endswith(b"data: [DONE]"):
                            raise RuntimeError(f"HTTP {r.status}: {raw[-120:]!r}")
                        who[r.headers.get("X-IdeaForge-Provider", "?")] += 1
                except Exception as exc:
                    errors[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1
                else:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return errors, latencies, who


def upstream_requests(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{url}/_stats", timeout=5) as response:
        return int(json.loads(response.read())["requests"])


def warmed_baseline(served: Served) -> tuple[int, int]:
    """(fds, RSS KiB) of the server after a few requests: lazily opened resources are not growth."""
    asyncio.run(steady(served, 1.0, 4))
    time.sleep(1.0)
    return open_fds(served.pid)[0], rss_kib(served.pid)


def long_faults(seconds: float, concurrency: int, drip_streams: int) -> Section:
    section = Section(
        "long-faults",
        "Long fault runs",
        f"Against `ideaforge serve` as for the load figures. 429 storm: for {seconds:g} s, {concurrency} clients "
        "send streams back to back; the user's AI Gateway answers every request with 429 `Retry-After: 1`, "
        "OpenAI is healthy behind it. Slow drip: streams whose upstream sends one word every "
        f"{seconds / 16:.2g} s, {seconds:g} s in all, all at once. Baselines are taken after a few warm-up "
        "requests.",
        ["run", "requests", "errors", "answered by", "p50 s", "p99 s", "upstream hits (with warm-up)",
         "RSS before/after MiB", "fds before/after"],
    )  # fmt: skip
    with upstream("storm") as storm, upstream("ok") as ok, serve({"ai_gateway": storm, "openai": ok}) as served:
        fds_before, rss_before = warmed_baseline(served)
        errors, latencies, who = asyncio.run(steady(served, seconds, concurrency))
        fds_after = settle_fds(served.pid, fds_before)[0]
        section.add("429 storm at the AI Gateway", len(latencies) + sum(errors.values()), sum(errors.values()),
                    ", ".join(f"{k} {v}" for k, v in who.items()), _pct(latencies, 0.5), _pct(latencies, 0.99),
                    f"{upstream_requests(storm)} at the storm", f"{rss_before // 1024} / {rss_kib(served.pid) // 1024}",
                    f"{fds_before} / {fds_after}")  # fmt: skip
        section.notes.append(f"429 storm errors: {dict(errors) or 'none'}")
    with upstream("drip", seconds) as drip, serve({"openai": drip}) as served:
        fds_before, rss_before = warmed_baseline(served)
        errors, latencies, _, wall = asyncio.run(burst(served, drip_streams, model="drip"))
        fds_after = settle_fds(served.pid, fds_before)[0]
        section.add("slow drip", drip_streams, sum(errors.values()), "openai", _pct(latencies, 0.5),
                    _pct(latencies, 0.99), f"{upstream_requests(drip)}",
                    f"{rss_before // 1024} / {rss_kib(served.pid) // 1024}", f"{fds_before} / {fds_after}")  # fmt: skip
        section.notes.append(f"slow drip errors: {dict(errors) or 'none'}; wall {wall:.1f} s")
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--faults", action="store_true", help="also the long fault runs (about 2.5 minutes)")
    parser.add_argument("--fault-seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="100 streams, 1 round, 10 s fault runs")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/reliability.md")
    args = parser.parse_args()
    # Stopped with SIGTERM, still stop the server and upstreams this started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.requests, args.rounds, args.fault_seconds = 100, 1, 10.0
    command = "python -m bench.reliability_load " + " ".join(sys.argv[1:])
    stamp = f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command.strip()}` on {machine_summary()}."
    rendered: dict[str, str] = {}
    with upstream("ok") as ok, serve({"openai": ok}) as served:
        results = load_rounds(served, args.requests, args.rounds)
    section = load_section(results)
    rendered["load"] = section.render(stamp)
    if args.faults:
        rendered["long-faults"] = long_faults(args.fault_seconds, 16, 100).render(stamp)
    rendered["machine"] = Section("machine", "Machine and versions", notes=machine_lines()).render(stamp)
    for text in rendered.values():
        print(text)
    if not args.no_write:
        write_sections(rendered)
    failed = any(sum(r.errors.values()) or r.fds_after > r.fds_before for r in results)
    if failed:
        print("FAILED: errors, or file descriptors not back to the baseline", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
