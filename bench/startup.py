"""Start-up, side by side: `ideaforge serve` against a bare FastAPI + aiohttp app, in one run.

    .venv/bin/python -m bench.startup [--rounds 7]          # from the repo root

Each round starts, in turn, the naive aiohttp passthrough (`bench.passthrough:aiohttp_app` under
uvicorn: FastAPI, aiohttp and httpx imported, one route) and `ideaforge serve` on SQLite, each on
a free loopback port, and times process start to the first 200 from `/healthz`. `ideaforge
serve` runs twice per round: on a new data directory (the database and key file are made,
migrations run) and on the one it just made. `ideaforge --help` is timed the same way, start to
exit. Prints the medians and the ratio to the bare app; the target is `serve` within 2x the bare
app and `--help` under 0.4 s. Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.servers import IDEAFORGE, Server, clean_env, free_port, passthrough


def _serve(data_dir: Path) -> Server:
    port = free_port()
    return Server(
        name="ideaforge serve",
        args=[str(IDEAFORGE), "serve", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        health_path="/healthz",
        env={"IDEAFORGE_DATA_DIR": str(data_dir)},
    )


def _ready(server: Server) -> float:
    try:
        server.start(timeout=120)
        return server.ready_s
    finally:
        server.stop()


def _help() -> float:
    started = time.perf_counter()
    subprocess.run([str(IDEAFORGE), "--help"], env=clean_env(), capture_output=True, check=True)
    return time.perf_counter() - started


def measure(rounds: int) -> dict[str, list[float]]:
    """Seconds per start, by target, `rounds` samples each, interleaved round by round."""
    samples: dict[str, list[float]] = {"bare": [], "serve_new": [], "serve_again": [], "help": []}
    for _ in range(rounds):
        samples["bare"].append(_ready(passthrough("aiohttp", "http://127.0.0.1:9", None)))
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            data = Path(tmp) / "data"
            samples["serve_new"].append(_ready(_serve(data)))
            samples["serve_again"].append(_ready(_serve(data)))
        samples["help"].append(_help())
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the samples as JSON")
    args = parser.parse_args()
    samples = measure(args.rounds)
    if args.json:
        print(json.dumps(samples, indent=2))
        return
    bare = statistics.median(samples["bare"])
    for name, label in (
        ("bare", "bare FastAPI + aiohttp app, start to ready"),
        ("serve_new", "ideaforge serve, new data directory"),
        ("serve_again", "ideaforge serve, existing database"),
        ("help", "ideaforge --help, start to exit"),
    ):
        median = statistics.median(samples[name])
        ratio = f"  ({median / bare:.2f}x the bare app)" if name.startswith("serve") else ""
        print(f"{label:<45} median {median:.3f} s  min {min(samples[name]):.3f} s{ratio}")


if __name__ == "__main__":
    main()
