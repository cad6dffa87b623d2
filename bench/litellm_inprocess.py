"""`litellm.acompletion` beside a raw httpx call, in LiteLLM's own virtual environment.

    $BENCH_VENVS/litellm/bin/python -m bench.litellm_inprocess UPSTREAM_URL   # from the repo root

The same protocol as `bench.inprocess` (`{"op": "round", "n": ..., "warmup": ...}` a line on
stdin, a JSON result a line on stdout), so `bench.run` can interleave the two processes round by
round. Imports nothing of the project: only `bench.measure`, which needs the standard library.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import warnings
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

import httpx
import litellm

from bench.measure import sequential

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]
EXPECTED = "Hello! How can I help you today?"


class WrongAnswer(Exception):
    pass


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise WrongAnswer(what)


async def serve(upstream: str) -> None:
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    base_url = f"{upstream}/v1"
    body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 32}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=200), trust_env=False) as http:

        async def raw() -> None:
            response = await http.post(f"{base_url}/chat/completions", json=body, headers={"Authorization": "Bearer k"})
            _check(response.status_code == 200, f"status {response.status_code}")
            _check(response.json()["choices"][0]["message"]["content"] == EXPECTED, "raw content")

        async def acompletion() -> None:
            response: Any = await litellm.acompletion(
                model=f"openai/{MODEL}", messages=MESSAGES, max_tokens=32, api_base=base_url, api_key="k"
            )
            _check(response.choices[0].message.content == EXPECTED, "litellm content")

        calls = {"raw httpx (default transport), LiteLLM's venv": raw, "litellm.acompletion": acompletion}
        print(json.dumps({"ready": True, "litellm": litellm.__dict__.get("version", "")}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            cmd = json.loads(line)
            result = await sequential(calls, int(cmd["n"]), int(cmd["warmup"]))
            out = {
                name: {"p50_us": lat.p50_us, "p99_us": lat.p99_us, "errors": dict(lat.errors)}
                for name, lat in result.items()
            }
            print(json.dumps(out), flush=True)


def main() -> None:
    import uvloop

    warnings.simplefilter("ignore")
    uvloop.run(serve(sys.argv[1].rstrip("/")))


if __name__ == "__main__":
    main()
