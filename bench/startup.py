"""Start-up, side by side: `ideaforge serve` against a bare FastAPI + aiohttp app, in one run.

    .venv/bin/python -m bench.startup [--rounds 7] [--baseline DIR]      # from the repo root

Each round starts, in turn, the naive aiohttp passthrough (`bench.passthrough:aiohttp_app` under
uvicorn: FastAPI, aiohttp and httpx imported, one route) and `ideaforge serve` on SQLite, each on
a free loopback port, and times process start to the first 200 from `/healthz`: wall time, and
the CPU time the process tree used until then (steadier on a shared machine). `ideaforge
serve` runs twice per round: on a new data directory (the database and key file are made,
migrations run) and on the one it just made. `ideaforge --help` is timed the same way, start to
exit. Prints the medians and the ratios to the bare app; the target is `serve` within 2x the bare
app and `--help` under 0.4 s. Nothing is written to the repository.

`--baseline DIR`: also time another checkout of this repository (say `git clone -q . /tmp/before
&& git -C /tmp/before checkout main`) the same way, in the same rounds, with the same venv: its
`ideaforge_gateway` comes first on `PYTHONPATH`. Before and after, side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.servers import IDEAFORGE, PROJECT_PY, clean_env, cpu_seconds, free_port, http_ok, uvicorn_args


def _bare() -> tuple[list[str], dict[str, str], int]:
    port = free_port()
    return (
        uvicorn_args(PROJECT_PY, "bench.passthrough:aiohttp_app", port),
        {"BENCH_UPSTREAM": "http://127.0.0.1:9"},
        port,
    )


def _code(checkout: Path | None) -> dict[str, str]:
    """The environment that makes `ideaforge` run `checkout`'s code (None: this repository's)."""
    return {} if checkout is None else {"PYTHONPATH": str(checkout)}


def _serve(data_dir: Path, checkout: Path | None = None) -> tuple[list[str], dict[str, str], int]:
    port = free_port()
    return (
        [str(IDEAFORGE), "serve", "--host", "127.0.0.1", "--port", str(port)],
        {"IDEAFORGE_DATA_DIR": str(data_dir), **_code(checkout)},
        port,
    )


def _ready(target: tuple[list[str], dict[str, str], int]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) from start to the first 200 on /healthz.
    CPU time is the steadier figure on a shared machine: other processes do not add to it."""
    args, env, port = target
    started = time.perf_counter()
    process = subprocess.Popen(
        args, env=clean_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        while not http_ok(f"http://127.0.0.1:{port}/healthz", timeout=0.5):
            if process.poll() is not None:
                raise RuntimeError(f"{args[:3]} exited with {process.returncode}")
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"{args[:3]} was not ready within 120 s")
            time.sleep(0.005)
        return time.perf_counter() - started, cpu_seconds(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _help(checkout: Path | None = None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([str(IDEAFORGE), "--help"], env=clean_env(**_code(checkout)), capture_output=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(rounds: int, baseline: Path | None = None) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per start, by target, `rounds` samples each, interleaved round by round;
    with `baseline`, its targets are prefixed `baseline_`."""
    checkouts: dict[str, Path | None] = {"": None} if baseline is None else {"baseline_": baseline, "": None}
    samples: dict[str, list[tuple[float, float]]] = {"bare": []}
    for _ in range(rounds):
        samples["bare"].append(_ready(_bare()))
        for prefix, checkout in checkouts.items():
            with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
                data = Path(tmp) / "data"
                samples.setdefault(f"{prefix}serve_new", []).append(_ready(_serve(data, checkout)))
                samples.setdefault(f"{prefix}serve_again", []).append(_ready(_serve(data, checkout)))
            samples.setdefault(f"{prefix}help", []).append(_help(checkout))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the samples as JSON")
    parser.add_argument("--baseline", type=Path, help="another checkout to time side by side (e.g. main)")
    args = parser.parse_args()
    if args.baseline is not None and not (args.baseline / "ideaforge_gateway").is_dir():
        parser.error(f"{args.baseline} is not a checkout of this repository (no ideaforge_gateway in it)")
    samples = measure(args.rounds, args.baseline)
    if args.json:
        print(json.dumps(samples, indent=2))
        return
    bare_wall = statistics.median(w for w, _ in samples["bare"])
    bare_cpu = statistics.median(c for _, c in samples["bare"])
    labels = {
        "bare": "bare FastAPI + aiohttp app, start to ready",
        "serve_new": "ideaforge serve, new data directory",
        "serve_again": "ideaforge serve, existing database",
        "help": "ideaforge --help, start to exit",
    }
    print(f"medians of {args.rounds} rounds")
    order = [name for base in labels for name in (f"baseline_{base}", base) if name in samples]
    for name in order:
        base = name.removeprefix("baseline_")
        label = labels[base] + (" (baseline)" if name != base else "")
        wall = statistics.median(w for w, _ in samples[name])
        cpu = statistics.median(c for _, c in samples[name])
        ratio = f"  ({wall / bare_wall:.2f}x wall, {cpu / bare_cpu:.2f}x CPU)" if base.startswith("serve") else ""
        print(f"{label:<56} wall {wall:.3f} s  CPU {cpu:.3f} s{ratio}")


if __name__ == "__main__":
    main()
