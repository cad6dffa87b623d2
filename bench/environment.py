"""The upstream subprocess, CPU pinning, and the facts about the machine a report must carry."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devkit.machine import cpu_model, package_version

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("httpx", "httpcore", "httpx-aiohttp", "aiohttp", "httpx-sse", "pydantic", "anyio")


def pick_cpus() -> tuple[int | None, int | None]:
    """(client CPU, upstream CPU): separate cores when at least two are ours, else no pinning."""
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


@dataclass(frozen=True, slots=True)
class Upstream:
    url: str
    pid: int

    def pin(self, cpu: int | None) -> None:
        if cpu is not None:
            os.sched_setaffinity(self.pid, {cpu})

    def cpu_seconds(self) -> float:
        with urllib.request.urlopen(f"{self.url}/_stats", timeout=5) as response:
            return float(json.loads(response.read())["cpu_seconds"])


@contextmanager
def upstream_process(*args: str) -> Iterator[Upstream]:
    """Start `bench.upstream` in its own process (with `args`, e.g. "--uvloop"); stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream", *args], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            raise RuntimeError(f"bench.upstream did not start (exit code {proc.poll()})")
        yield Upstream(f"http://127.0.0.1:{line[1]}", proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def machine_lines() -> list[str]:
    versions = ", ".join(f"{name} {package_version(name)}" for name in PACKAGES)
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip() or "?"
    return [
        f"- nproc: {nproc} (os.cpu_count {os.cpu_count()}, usable {sorted(os.sched_getaffinity(0))})",
        f"- CPU: {cpu_model()}",
        f"- OS: {platform.platform()}",
        f"- Python: {sys.version.split()[0]} ({platform.python_implementation()}), asyncio default loop (no uvloop)",
        f"- packages: {versions}",
    ]
