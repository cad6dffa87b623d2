"""The memory a huge upstream answer costs a real `ideaforge serve` (issue 18, case 1).

    .venv/bin/python -m bench.reliability_memory [--concurrent 3] [--no-write]

`ideaforge serve` (one process, SQLite, one user whose OpenAI base URL is
`bench.reliability_upstream --mode huge`, in its own process) is asked for non-streamed chat
completions whose upstream answer is 200 MB, sent chunked with no length announced. Each must be
refused (the transport's `IDEAFORGE_MAX_RESPONSE_BYTES`, 8 MiB by default); the server's RSS is
sampled every 20 ms from /proc/<pid>. Before the cap, one such request took the server from
143 MB to 764 MB (1.8 GB with three at once). The bound the issue sets: peak under 50 MB above idle.

Writes the `memory` section of docs/reliability.md (unless `--no-write`) and prints it; exits 1
when a request was not refused or the peak passed the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime

import aiohttp

from bench.reliability_load import RssSampler, serve, upstream, warmed_baseline
from bench.reliability_upstream import HUGE_BYTES
from devkit.proc import rss_kib
from devkit.report import Section, machine_summary, write_sections

BOUND_MIB = 50


async def ask(url: str, token: str, concurrent: int) -> list[tuple[int, str]]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "the huge one"}]}
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one() -> tuple[int, str]:
            async with session.post(f"{url}/v1/chat/completions", json=body, headers=headers) as response:
                return response.status, (await response.text())[:300]

        return await asyncio.gather(*(one() for _ in range(concurrent)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrent", type=int, default=3, help="the largest batch of simultaneous requests")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/reliability.md")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    command = "python -m bench.reliability_memory " + " ".join(sys.argv[1:])
    stamp = f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command.strip()}` on {machine_summary()}."
    section = Section(
        "memory",
        "Memory: a 200 MB upstream answer is refused while it is read (issue 18, case 1)",
        f"A real `ideaforge serve`; the user's own OpenAI base URL answers {HUGE_BYTES / 1e6:.0f} MB, chunked, "
        "with no length announced. RSS sampled every 20 ms from /proc. The issue's bound: peak under "
        f"{BOUND_MIB} MiB above idle.",
        ["requests at once", "answers", "RSS idle MiB", "RSS peak MiB", "peak above idle MiB", "ok"],
    )
    failed = False
    with upstream("huge") as huge, serve({"openai": huge}) as served:
        _, idle = warmed_baseline(served)
        for concurrent in sorted({1, args.concurrent}):
            idle = min(idle, rss_kib(served.pid))
            with RssSampler(served.pid) as sampler:
                answers = asyncio.run(ask(served.url, served.token, concurrent))
            above = (sampler.peak - idle) / 1024
            refused = all(status >= 500 and "too large" in text for status, text in answers)
            ok = refused and above < BOUND_MIB
            failed |= not ok
            statuses = ", ".join(sorted({f"{status} ({'too large' if 'too large' in text else text})"
                                         for status, text in answers}))  # fmt: skip
            section.add(concurrent, statuses, idle / 1024, sampler.peak / 1024, above, "✓" if ok else "✗")
    text = section.render(stamp)
    print(text)
    if not args.no_write:
        write_sections({"memory": text})
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
