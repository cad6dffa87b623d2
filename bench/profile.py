"""py-spy on a running server under load, reduced to the tables a report needs.

py-spy samples the server from outside (`--nonblocking`: the server is never paused; `--gil`:
only the thread holding the GIL, i.e. where the process's Python CPU time goes), on the load
core, while `drive` keeps 64 clients busy. Its raw output (collapsed stacks, one line per
distinct stack with its count) is kept in bench/results/ for flame graphs
(`flamegraph.pl`, speedscope); here it is reduced to self time per function, inclusive time of
this project's functions, and self time per library.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.servers import TOOLS_VENV

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
OUR_PACKAGES = ("domain", "application", "adapters", "entrypoints")
_LIBRARIES = (
    ("uvicorn", "uvicorn"),
    ("httptools", "uvicorn"),
    ("starlette", "starlette"),
    ("fastapi", "fastapi"),
    ("pydantic", "pydantic"),
    ("httpx_aiohttp", "httpx-aiohttp"),
    ("httpx_sse", "httpx-sse"),
    ("httpx", "httpx"),
    ("httpcore", "httpx"),
    ("aiohttp", "aiohttp"),
    ("yarl", "aiohttp"),
    ("multidict", "aiohttp"),
    ("anyio", "anyio"),
    ("sqlalchemy", "sqlalchemy"),
    ("sqlmodel", "sqlalchemy"),
    ("dependency_injector", "dependency-injector"),
    ("uvloop", "event loop"),
    ("asyncio", "event loop"),
    ("concurrent", "threads"),
    ("threading", "threads"),
    ("json", "json"),
    ("logging", "logging"),
)


def _parse(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy frame `func (path:line)`."""
    match = _FRAME.match(frame)
    if not match:
        return frame, ""
    return match["func"], match["file"]


def _head(path: str) -> str:
    """The top-level module of a py-spy file name (py-spy shows them relative to sys.path)."""
    return path.split("/", 1)[0].removesuffix(".py")


def _ours(path: str) -> bool:
    return _head(path) in OUR_PACKAGES


def _library(path: str) -> str:
    if _ours(path):
        return "this project (src/)"
    head = _head(path)
    for prefix, label in _LIBRARIES:
        if head == prefix:
            return label
    if head in ("http", "email", "urllib"):
        return "stdlib http/email/urllib (httpx cookies)"
    if not path or path.startswith("<"):
        return "generated code (dataclass __init__ etc.)"
    return "other: " + head


def summarize(raw: str, top: int = 20) -> dict[str, Any]:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_library: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_parse(f) for f in stack.split(";")]
        func, path = frames[-1]
        self_time[f"{func} ({path})"] += count
        by_library[_library(path)] += count
        seen = set()
        for func, path in frames:
            if _ours(path) and not path.startswith("entrypoints/cli/"):
                key = f"{func} ({path})"
                if key not in seen:
                    seen.add(key)
                    inclusive[key] += count
    pct = 100.0 / max(total, 1)
    return {
        "samples": total,
        "self": [(k, v * pct) for k, v in self_time.most_common(top)],
        "ours_inclusive": [(k, v * pct) for k, v in inclusive.most_common(top)],
        "by_library": [(k, v * pct) for k, v in by_library.most_common()],
    }


def profile_server(
    pid: int,
    drive: Callable[[bool], dict[str, Any]],
    seconds: int,
    cpu: int | None,
    results: Path,
    quick: bool,
) -> dict[str, Any]:
    py_spy = TOOLS_VENV / "bin" / "py-spy"
    if not py_spy.exists():
        return {"error": "py-spy is not installed"}
    results.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for sse in (False, True):
        kind = "sse" if sse else "json"
        raw_path = results / f"profile-{kind}{'-quick' if quick else ''}.txt"
        args = [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds + 1),
            "--rate",
            "250",
            "--nonblocking",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(raw_path),
        ]
        spy = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )
        load = drive(sse)
        _, err = spy.communicate(timeout=seconds + 30)
        if spy.returncode != 0 or not raw_path.exists():
            out[kind] = {"error": (err or "")[-300:]}
            continue
        out[kind] = {"rps_while_sampled": load.get("rps"), "raw": str(raw_path.relative_to(results.parent.parent))}
        out[kind].update(summarize(raw_path.read_text()))
    return out
