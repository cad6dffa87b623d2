"""Closed-loop load for one URL at a time, in a process of its own (pinned to its own core).

    python -m bench.loadgen          # then one JSON command a line on stdin, one JSON result a line out

A command: `{"url": ..., "token": ..., "body": {...}, "sse": false, "concurrency": 64,
"warmup": 0.5, "duration": 3.0}`. `concurrency` workers, each on its own keep-alive
connection, send the request again as soon as the previous answer has been read to the end; the
first `warmup` seconds are not counted. An answer counts when its status is 200 and, for SSE,
when its body ends with `data: [DONE]`. Two back-ends: wrk when it is installed (about 20 µs of
CPU per request, so the load side never becomes the limit), else aiohttp on uvloop (about
100-200 µs per request); `BENCH_LOADGEN=python` forces the latter.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp

DONE = b"data: [DONE]\n\n"


def backend() -> str:
    forced = os.environ.get("BENCH_LOADGEN", "auto")
    if forced in ("python", "wrk"):
        return forced
    return "wrk" if shutil.which("wrk") else "python"


# --- aiohttp back-end ----------------------------------------------------------------------------


async def _python_run(cmd: dict[str, Any]) -> dict[str, Any]:
    url, concurrency = cmd["url"], int(cmd["concurrency"])
    payload = json.dumps(cmd["body"]).encode()
    headers = {"Authorization": f"Bearer {cmd['token']}", "Content-Type": "application/json"}
    sse = bool(cmd.get("sse"))
    errors: Counter[str] = Counter()
    completed = 0
    counting = False
    stop = False

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal completed
        try:
            async with session.post(url, data=payload, headers=headers) as response:
                body = await response.read()
                if response.status != 200:
                    errors[f"HTTP {response.status}"] += 1
                    return
                if sse and not body.endswith(DONE):
                    errors["SSE without [DONE]"] += 1
                    return
        except Exception as exc:
            errors[type(exc).__name__] += 1
            return
        if counting:
            completed += 1

    async def worker(session: aiohttp.ClientSession) -> None:
        while not stop:
            await one(session)

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:
        tasks = [asyncio.create_task(worker(session)) for _ in range(concurrency)]
        await asyncio.sleep(float(cmd.get("warmup", 0.5)))
        counting = True
        cpu0, start = time.process_time(), time.perf_counter()
        await asyncio.sleep(float(cmd["duration"]))
        counting = False
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        stop = True
        await asyncio.gather(*tasks)
    return {
        "backend": "python",
        "rps": completed / wall,
        "completed": completed,
        "errors": dict(errors),
        "loadgen_cpu_us": cpu / max(completed, 1) * 1e6,
    }


# --- wrk back-end --------------------------------------------------------------------------------

_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(m?s|m|h)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk(url: str, lua: Path, concurrency: int, seconds: float) -> tuple[str, float]:
    cpu0 = os.times()
    args = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(lua), url]
    out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
    cpu1 = os.times()
    return out, (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)


def _wrk_run(cmd: dict[str, Any]) -> dict[str, Any]:
    concurrency = int(cmd["concurrency"])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA.format(body=_lua_string(json.dumps(cmd["body"])), token=cmd["token"]))
        lua = Path(f.name)
    try:
        if float(cmd.get("warmup", 0.5)) > 0:
            _wrk(cmd["url"], lua, concurrency, float(cmd.get("warmup", 0.5)))
        out, cpu = _wrk(cmd["url"], lua, concurrency, float(cmd["duration"]))
    finally:
        lua.unlink(missing_ok=True)
    rps_match, total_match = _RPS.search(out), _TOTAL.search(out)
    if rps_match is None or total_match is None:
        return {"backend": "wrk", "rps": 0.0, "completed": 0, "errors": {"wrk output": 1}, "raw": out[-500:]}
    total = int(total_match.group(1))
    errors: Counter[str] = Counter()
    non2xx = _NON2XX.search(out)
    if non2xx:
        errors["non-2xx"] = int(non2xx.group(1))
    sockets = _SOCKET.search(out)
    if sockets:
        for name, value in zip(("connect", "read", "write", "timeout"), sockets.groups(), strict=True):
            if int(value):
                errors[f"socket {name}"] = int(value)
    good = max(0, total - errors.get("non-2xx", 0))
    rps = float(rps_match.group(1)) * good / max(total, 1)
    return {
        "backend": "wrk",
        "rps": rps,
        "completed": good,
        "errors": dict(errors),
        "loadgen_cpu_us": cpu / max(total, 1) * 1e6,
    }


def main() -> None:
    kind = backend()
    if kind == "python":
        runner: Callable[[Coroutine[Any, Any, dict[str, Any]]], dict[str, Any]]
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            runner = asyncio.run
    print(json.dumps({"ready": kind}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        result = _wrk_run(cmd) if kind == "wrk" else runner(_python_run(cmd))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
