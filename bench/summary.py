# ruff: noqa: RUF001 - the report writes ratios with the multiplication sign
"""`bench.run`'s raw numbers (run.json) reduced to medians over rounds, checked against the
targets of issue 7, and written as docs/benchmarks.md."""

from __future__ import annotations

import importlib.metadata
import math
import statistics
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.environment import REPO, machine_lines

MB = 1024 * 1024 / 1e6  # MiB -> MB
ANALYSIS = REPO / "bench" / "analysis.md"
PACKAGES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic", "httpx", "httpx-aiohttp", "aiohttp")


def _med(values: Iterable[float]) -> float:
    found = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(found) if found else float("nan")


def _n(value: float, digits: int = 0) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


class Reduced:
    """Medians over rounds, by target."""

    def __init__(self, R: dict[str, Any]) -> None:
        self.R = R
        self.rounds = R["rounds"]
        self.names = [t["name"] for t in R["targets"]]
        self.short = {t["name"]: t["short"] for t in R["targets"]}
        self.direct = self.names[0]

    def seq(self, name: str, key: str = "p50_us") -> float:
        return _med(r["seq"][name][key] for r in self.rounds)

    def added(self, name: str) -> float:
        """Median over rounds of (target p50 - direct p50), each round's pair measured interleaved."""
        return _med(r["seq"][name]["p50_us"] - r["seq"][self.direct]["p50_us"] for r in self.rounds)

    def ttfb(self, name: str) -> float:
        return _med(r["sse"][name]["ttfb_p50_us"] for r in self.rounds)

    def ttfb_added(self, name: str) -> float:
        return _med(r["sse"][name]["ttfb_p50_us"] - r["sse"][self.direct]["ttfb_p50_us"] for r in self.rounds)

    def load(self, name: str, kind: str, concurrency: int, key: str = "rps") -> float:
        return _med(float(r["load"][f"{name}|{kind}|{concurrency}"].get(key, math.nan)) for r in self.rounds)

    def load_runs(self, name: str, kind: str, concurrency: int) -> list[dict[str, Any]]:
        return [r["load"][f"{name}|{kind}|{concurrency}"] for r in self.rounds]

    def errors(self, name: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for r in self.rounds:
            total.update({f"sequential: {k}": v for k, v in r["seq"][name]["errors"].items()})
            total.update({f"stream: {k}": v for k, v in r["sse"][name]["errors"].items()})
            for key, run in r["load"].items():
                target, kind, concurrency = key.split("|")
                if target == name:
                    total.update({f"{kind} c{concurrency}: {k}": v for k, v in run.get("errors", {}).items()})
        return total

    def inproc(self, side: str, name: str, key: str = "p50_us") -> float:
        return _med(r["inprocess"][side][name][key] for r in self.rounds if name in r["inprocess"][side])

    def inproc_over(self, side: str, name: str, base: str) -> float:
        return _med(
            r["inprocess"][side][name]["p50_us"] - r["inprocess"][side][base]["p50_us"]
            for r in self.rounds
            if name in r["inprocess"][side]
        )


class Verdicts:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []

    def at_most(self, what: str, value: float, limit: float, unit: str, shown: str | None = None) -> None:
        sep = "" if unit == "×" else " "
        digits = 2 if abs(value) < 10 else 1 if abs(value) < 1000 else 0
        shown = shown or f"{_n(value, digits)}{sep}{unit}"
        if math.isnan(value):
            self.rows.append([what, "—", "not measured"])
        elif value <= limit:
            self.rows.append([what, shown, f"**met** (limit {limit:g}{sep}{unit})"])
        else:
            over = f"{_n(value - limit, 2)}{sep}{unit}"
            self.rows.append([what, shown, f"**missed** by {over} ({value / limit:.2f}× the limit)"])

    def at_least(self, what: str, value: float, limit: float, unit: str, shown: str | None = None) -> None:
        shown = shown or f"{_n(value, 2)} {unit}".strip()
        if math.isnan(value):
            self.rows.append([what, "—", "not measured"])
        elif value >= limit:
            self.rows.append([what, shown, f"**met** (at least {limit:g}{unit})"])
        else:
            short = (1 - value / limit) * 100
            self.rows.append([what, shown, f"**missed**: {short:.0f}% short of {limit:g}{unit}"])

    def exact(self, what: str, ok: bool, shown: str) -> None:
        self.rows.append([what, shown, "**met**" if ok else "**missed**"])


def _versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} absent")
    return ", ".join(found)


def render(R: dict[str, Any], *, command: str, chart: str, out: Path) -> dict[str, Any]:
    red = Reduced(R)
    names, short = red.names, red.short
    direct, naive_httpx, naive_aiohttp, litellm, ours, ours_gw = names
    naive = [naive_httpx, naive_aiohttp]
    fastest_naive_added = min(red.added(n) for n in naive)
    fastest_naive_rps = {k: max(red.load(n, k, 64) for n in naive) for k in ("json", "sse")}
    lines: list[str] = [
        "# Benchmarks: overhead, token reuse, fallback cost and throughput, beside LiteLLM",
        "",
        f"Generated by `{command}` (from the repository root) on {R.get('date', '?')}, in "
        f"{R.get('wall_s', 0):.0f} s; raw numbers in `bench/results/{'run-quick' if R.get('quick') else 'run'}.json`. "
        f"Everything on 127.0.0.1 against `bench/upstream.py`, a zero-delay OpenAI-compatible server "
        f"(precomputed answers; a token endpoint for the AI Gateway path). Medians over "
        f"{len(red.rounds)} interleaved round(s) on a shared 2-core machine: read ratios, not absolutes.",
        "",
        f"![requests/s and added latency]({chart})",
        "",
        "## Targets (issue 7)",
        "",
    ]
    v = Verdicts()
    for label, name in (("operator's upstream", ours), ("user's AI Gateway", ours_gw)):
        added = red.added(name)
        v.at_most(
            f"/v1 ({label}) added p50 ≤ 2× the fastest naive passthrough's ({_n(fastest_naive_added)} µs)",
            added / fastest_naive_added,
            2.0,
            "×",
            f"{_n(added)} µs = {added / fastest_naive_added:.2f}×",
        )
        v.at_most(
            f"/v1 ({label}) added p50 ≤ 0.1× LiteLLM's ({_n(red.added(litellm))} µs)",
            added / red.added(litellm),
            0.1,
            "×",
            f"{added / red.added(litellm):.3f}×",
        )
        for kind in ("json", "sse"):
            rps = red.load(name, kind, 64)
            v.at_least(
                f"/v1 ({label}) {kind.upper()} RPS c64 ≥ 0.5× the fastest naive passthrough's "
                f"({_n(fastest_naive_rps[kind])})",
                rps / fastest_naive_rps[kind],
                0.5,
                "×",
                f"{_n(rps)} = {rps / fastest_naive_rps[kind]:.2f}×",
            )
            lite = red.load(litellm, kind, 64)
            v.at_least(
                f"/v1 ({label}) {kind.upper()} RPS c64 ≥ 10× LiteLLM's ({_n(lite)})",
                rps / lite,
                10,
                "×",
                f"{rps / lite:.1f}×",
            )
    raw_aio = "raw aiohttp.ClientSession"
    chains = [n for n in R["rounds"][0]["inprocess"]["ours"] if n.startswith("chain:")]
    for chain in chains:
        v.at_most(
            f"in-process overhead over raw aiohttp, p50: {chain}", red.inproc_over("ours", chain, raw_aio), 100, "µs"
        )
    tok = R.get("token_inprocess", {})
    for creds, scenario in tok.items():
        if not isinstance(scenario, dict) or "waves" not in scenario:
            continue
        cold = scenario["waves"][0]["token_requests"]
        warm = scenario["waves"][1]["token_requests"]
        ok = all(c == 1 for c in cold.values()) and cold == warm and scenario["waves"][0]["errors"] == 0
        v.exact(
            f"1 token request per credential: {scenario['callers']:,} concurrent cold callers in process, "
            f"{creds} credential(s), then as many again",
            ok,
            f"{sorted(cold.values())} then +{sum(warm.values()) - sum(cold.values())}",
        )
    e2e = R.get("token_e2e")
    if e2e:
        v.exact(
            f"1 token request per credential: {e2e['cold']['callers']:,} concurrent cold callers through /v1, "
            "then as many again",
            e2e["cold"]["token_requests"] == 1 and e2e["warm"]["token_requests"] == 0 and not e2e["cold"]["errors"],
            f"{e2e['cold']['token_requests']} then +{e2e['warm']['token_requests']}",
        )
    fb = R.get("fallback", {})
    if "_error" not in fb and fb:
        base = fb["secondary alone (baseline)"]["p50_us"]
        base_slow = fb.get("secondary alone (baseline, slow group)", {}).get("p50_us", base)
        prod = fb["refusing primary, default policy (2 attempts, backoff)"]["p50_us"] - base_slow
        one = fb["refusing primary, 1 attempt per provider"]["p50_us"] - base
        brk = fb["primary behind an open breaker"]["p50_us"] - base
        v.at_most("fallback past a refusing primary adds ≤ 5 ms (default retry policy)", prod / 1000, 5, "ms")
        v.at_most("fallback past a refusing primary adds ≤ 5 ms (1 attempt per provider)", one / 1000, 5, "ms")
        v.at_most("fallback past an open breaker adds ≤ 0.2 ms", brk / 1000, 0.2, "ms")
    help_ = R.get("help", {})
    v.at_most("`ideaforge --help` ≤ 0.4 s (median)", help_.get("median_s", math.nan), 0.4, "s")
    starts = R.get("ideaforge_starts", [])
    ready = _med(s["ready_s"] for s in starts)
    idle = _med(s["idle_rss_mib"] for s in starts) * MB
    v.at_most("server start to ready ≤ 1.5 s (median)", ready, 1.5, "s")
    v.at_most("idle RSS ≤ 120 MB (median, just after start)", idle, 120, "MB")
    server_name = "ideaforge serve"
    peak = R.get("peak_rss_mib", {}).get(server_name, math.nan) * MB
    v.at_most("peak RSS under load ≤ 200 MB (the load rounds)", peak, 200, "MB")
    if e2e:
        v.at_most(
            f"peak RSS ≤ 200 MB (the {e2e['cold']['callers']:,}-caller bursts)", e2e["peak_rss_mib"] * MB, 200, "MB"
        )
    lines += _table(["target", "measured", "verdict"], v.rows)
    if ANALYSIS.exists():
        lines += ["", ANALYSIS.read_text().strip()]

    # Proxies.
    lines += ["", "## 1. Proxies, side by side", ""]
    lines += [
        "Sequential: one request at a time, the targets taking turns call by call (client, server and "
        "upstream on one core). *Added* = the target's p50 minus the direct call's p50, per round. "
        "TTFB = time to the first `data:` line of a streamed answer. Load: wrk (or the Python load "
        "generator) with 16 or 64 keep-alive connections, each re-sending as soon as its answer is complete, "
        f"{R['plan']['load_seconds']} s per run. Server CPU = the server process's CPU time per answered "
        "request at 64 clients.",
        "",
    ]
    header = [
        "target",
        "added p50 µs",
        "p50 µs",
        "p99 µs",
        "TTFB p50 µs",
        "TTFB added µs",
        "JSON RPS c16",
        "JSON RPS c64",
        "SSE RPS c16",
        "SSE RPS c64",
        "server CPU µs/req JSON c64",
        "SSE c64",
        "errors",
    ]
    rows = []
    for name in names:
        added_cell = "0 (base)" if name == direct else _n(red.added(name))
        ttfb_added = "0 (base)" if name == direct else _n(red.ttfb_added(name))
        rows.append(
            [name, added_cell, _n(red.seq(name)), _n(red.seq(name, "p99_us")), _n(red.ttfb(name)), ttfb_added]
            + [_n(red.load(name, k, c)) for k in ("json", "sse") for c in (16, 64)]
            + [_n(red.load(name, "json", 64, "server_cpu_us")), _n(red.load(name, "sse", 64, "server_cpu_us"))]
            + [str(sum(red.errors(name).values()))]
        )
    lines += _table(header, rows)
    ratio_rows = []
    for name in (ours, ours_gw):
        ratio_rows.append(
            [
                short[name],
                f"{red.added(name) / fastest_naive_added:.2f}× / {red.added(name) / red.added(litellm):.3f}×",
            ]
            + [
                f"{red.load(name, k, 64) / fastest_naive_rps[k]:.2f}× / "
                f"{red.load(name, k, 64) / red.load(litellm, k, 64):.1f}×"
                for k in ("json", "sse")
            ]
        )
    lines += [
        "",
        *_table(["ideaforge vs fastest naive / vs LiteLLM", "added p50", "JSON RPS c64", "SSE RPS c64"], ratio_rows),
    ]

    # Servers.
    lines += ["", "### The servers", ""]
    srv_rows = []
    for sname, info in R.get("servers", {}).items():
        srv_rows.append(
            [
                sname,
                _n(info["ready_s"], 2),
                _n(info["idle_rss_mib"] * MB),
                _n(R.get("peak_rss_mib", {}).get(sname, math.nan) * MB),
                _n(R.get("rss_after_load_mib", {}).get(sname, math.nan) * MB),
            ]
        )
    lines += _table(
        ["server", "start to ready s", "idle RSS MB", "peak RSS MB (load rounds)", "RSS after load MB"], srv_rows
    )

    # In-process.
    lines += ["", "## 2. In process, per call", ""]
    lines += [
        "Sequential calls, the calls of one process taking turns call by call; the two processes (this "
        "project's venv, LiteLLM's venv) take turns round by round. Overheads are per-round differences "
        "of p50s, medians over rounds.",
        "",
    ]
    rows = []
    base_default = "raw httpx (default transport)"
    for name in R["rounds"][0]["inprocess"]["ours"]:
        rows.append(
            [
                "this project",
                name,
                _n(red.inproc("ours", name)),
                _n(red.inproc("ours", name, "p99_us")),
                _n(red.inproc_over("ours", name, base_default)),
                _n(red.inproc_over("ours", name, raw_aio)),
            ]
        )
    lite_names = list(R["rounds"][0]["inprocess"]["litellm"])
    for name in lite_names:
        rows.append(
            [
                "LiteLLM venv",
                name,
                _n(red.inproc("litellm", name)),
                _n(red.inproc("litellm", name, "p99_us")),
                _n(red.inproc_over("litellm", name, lite_names[0])),
                "—",
            ]
        )
    lines += _table(
        [
            "process",
            "call",
            "p50 µs",
            "p99 µs",
            "over raw httpx default transport (same process) µs",
            "over raw httpx AiohttpTransport µs",
        ],
        rows,
    )

    # Tokens.
    lines += ["", "## 3. Token reuse", ""]
    rows = []
    for creds, scenario in tok.items():
        if not isinstance(scenario, dict) or "waves" not in scenario:
            lines.append(f"- in-process token test failed: {scenario}")
            continue
        for i, wave in enumerate(scenario["waves"]):
            rows.append(
                [
                    f"in process, {creds} credential(s)",
                    "cold" if i == 0 else "warm (same tokens)",
                    f"{scenario['callers']:,}",
                    str(sorted(wave["token_requests"].values())),
                    _n(wave["wall_s"], 2),
                    str(wave["errors"]),
                ]
            )
    if e2e:
        for phase in ("cold", "warm"):
            rows.append(
                [
                    "through /v1 (user's AI Gateway)",
                    phase,
                    f"{e2e[phase]['callers']:,}",
                    str(e2e[phase]["token_requests"]),
                    _n(e2e[phase]["wall_s"], 2),
                    str(sum(e2e[phase]["errors"].values())),
                ]
            )
    lines += _table(
        [
            "scenario",
            "phase",
            "concurrent callers",
            "token requests (per credential, cumulative in process)",
            "wall s",
            "errors",
        ],
        rows,
    )

    # Fallback.
    lines += ["", "## 4. Fallback cost", ""]
    if "_error" in fb or not fb:
        lines.append(f"- fallback test failed: {fb.get('_error')}")
    else:
        lines += [
            "In process, through `FallbackChain`: primary = the AI Gateway at a loopback port nobody listens "
            "on (static key, so no token request), secondary = the operator's OpenAI-compatible upstream. "
            "Breakers that never open for the refusing rows; a breaker opened beforehand (cooldown 10⁹ s) for "
            "the last. Added = p50 minus the baseline's p50 in the same interleaved group.",
            "",
        ]
        rows = []
        for name, lat in fb.items():
            if name.startswith("_"):
                continue
            base_name = (
                "secondary alone (baseline, slow group)" if "default policy" in name else "secondary alone (baseline)"
            )
            over = "—" if name.startswith("secondary") else _n(lat["p50_us"] - fb[base_name]["p50_us"])
            attempts = "; ".join(fb["_attempts"].get(name.replace(", slow group", ""), []))
            rows.append([name, _n(lat["p50_us"]), _n(lat["p99_us"]), over, attempts])
        lines += _table(["scenario", "p50 µs", "p99 µs", "added p50 µs", "attempts of one call"], rows)

    # Start-up.
    lines += ["", "## 5. Start-up and memory", ""]
    rows = [
        [
            "`ideaforge --help`",
            f"median {_n(help_.get('median_s', math.nan), 3)} s, max {_n(help_.get('max_s', math.nan), 3)} s, "
            f"first (cold cache) {_n(help_.get('first_s', math.nan), 3)} s, {help_.get('runs', 0)} runs",
        ],
        ["`ideaforge serve` start to ready (`/healthz` 200)", ", ".join(_n(s["ready_s"], 2) for s in starts) + " s"],
        ["idle RSS after start", ", ".join(_n(s["idle_rss_mib"] * MB) for s in starts) + " MB"],
        ["peak RSS, load rounds (VmHWM)", f"{_n(peak)} MB"],
    ]
    if e2e:
        rows.append(
            [f"peak RSS, cold + warm {e2e['cold']['callers']:,}-caller bursts", f"{_n(e2e['peak_rss_mib'] * MB)} MB"]
        )
    lines += _table(["what", "value"], rows)

    # Profile.
    prof = R.get("profile", {})
    lines += [
        "",
        "## 6. Profile of `ideaforge serve` under load (py-spy)",
        "",
        "py-spy `--gil --nonblocking` at 250 Hz on the server, the operator's-upstream user at 64 clients. "
        "Time in C code (uvloop, json, pydantic-core, httptools) counts as self time of the Python frame that "
        "called it: `Runner.run` is the event loop's own C work, `get_request_handler.<locals>.app` includes "
        "FastAPI's body parsing. Inclusive shares of this project's functions are lower bounds: a resumed "
        "coroutine's stack does not always reach back to its caller.",
        "",
    ]
    for kind in ("json", "sse"):
        p = prof.get(kind)
        if not p:
            continue
        if "error" in p:
            lines.append(f"- {kind}: py-spy failed: {p['error']}")
            continue
        lines += [
            f"### {kind.upper()} at 64 clients: {p['samples']:,} samples, {_n(p.get('rps_while_sampled') or math.nan)} "
            f"requests/s while sampled (raw stacks: `{p['raw']}`)",
            "",
            *_table(
                ["where the CPU went (self time, by library)", "% of samples"],
                [[k, _n(x, 1)] for k, x in p["by_library"][:12]],
            ),
            "",
            *_table(
                ["this project's functions (inclusive)", "% of samples"],
                [[f"`{k}`", _n(x, 1)] for k, x in p["ours_inclusive"][:15]],
            ),
            "",
            *_table(["hottest functions (self)", "% of samples"], [[f"`{k}`", _n(x, 1)] for k, x in p["self"][:15]]),
            "",
        ]

    # Anomalies.
    lines += ["", "## Errors and anomalies", ""]
    notes = []
    for name in names:
        for label, count in red.errors(name).most_common():
            notes.append(f"- {name}: {count} × `{label}`")
    for name in names[1:]:
        for kind in ("json", "sse"):
            for c in (16, 64):
                runs = red.load_runs(name, kind, c)
                values = [r["rps"] for r in runs if r.get("rps")]
                if len(values) > 1 and max(values) > 1.5 * min(values):
                    notes.append(
                        f"- noisy: {name} {kind.upper()} c{c} ranged {min(values):,.0f}-{max(values):,.0f} RPS"
                    )
                busy = max((r.get("load_core_busy", 0) or 0 for r in runs), default=0)
                if busy > 0.9:
                    notes.append(
                        f"- load-side bound: {name} {kind.upper()} c{c}: the load core (upstream + load generator) "
                        f"was {busy:.0%} busy in one round, so that figure is a lower bound"
                    )
                low = [r for r in runs if (r.get("server_busy") or 0) < 0.8]
                if low and name != direct:
                    worst = min(low, key=lambda r: r.get("server_busy") or 0)
                    core = worst.get("server_core_busy", math.nan)
                    why = (
                        "the rest of its core went to other processes (the machine is shared)"
                        if core > 0.9
                        else "its core sat partly idle: the server waited, on the load side or on itself"
                    )
                    notes.append(
                        f"- {name} {kind.upper()} c{c}: in {len(low)} of {len(runs)} round(s) the server used "
                        f"under 80% of its core (worst {worst.get('server_busy', 0):.0%}, core {core:.0%} busy "
                        f"in all): {why}"
                    )
    lines += notes or ["- none"]

    # Run.
    cpus = R.get("cpus", {})
    versions = R.get("versions", {})
    lines += [
        "",
        "## The run",
        "",
        f"- command: `{command}` (from the repository root; `--quick` for one short round). It creates, once, "
        f"LiteLLM's venv (`litellm[proxy]=={versions.get('litellm', '?')}`) and a tools venv (matplotlib, py-spy) "
        "under `$BENCH_VENVS` (default `~/.cache/ideaforge-bench-venvs`), and installs wrk from Debian when it "
        "is missing and it runs as root (else a Python load generator, `BENCH_LOADGEN=python`).",
        *[line for line in R.get("machine", machine_lines()) if not line.startswith(("- Python", "- packages"))],
        f"- Python: {sys.version.split()[0]}; the servers and in-process workers run on uvloop (uvicorn's default "
        "when installed), the upstream too (`bench.upstream --uvloop`)",
        f"- project venv: {_versions()}",
        f"- LiteLLM venv: litellm {versions.get('litellm')}, httpx {versions.get('litellm venv httpx')}, openai "
        f"{versions.get('litellm venv openai')}; proxy started with `--num_workers 1`, a master key, no database, "
        "`LITELLM_LOCAL_MODEL_COST_MAP=True`",
        f"- load generator: {R.get('loadgen')} ({versions.get('wrk', '')}); profiler: {versions.get('py-spy', '')}",
        f"- pinning: every server under test on CPU {cpus.get('server')}; under load the upstream and the load "
        f"generator on CPU {cpus.get('load')}; for the sequential and in-process measurements the upstream moves to "
        f"CPU {cpus.get('server')} too (client, server and upstream on one core: no cross-core wake-ups, which "
        "on this VM cost milliseconds at p99). All servers run throughout; the idle ones wait on CPU "
        f"{cpus.get('server')}.",
        "- servers: uvicorn with uvloop and httptools, 1 worker, access log off, for the passthroughs and "
        "`ideaforge serve`; `ideaforge serve` with `IDEAFORGE_DATA_DIR` in a temporary folder (SQLite), users "
        "made with `ideaforge users create`, the AI Gateway user's credentials stored with "
        "`ideaforge providers configure ai_gateway --base-url <upstream>` (`IDEAFORGE_ALLOW_PRIVATE_BASE_URLS=true`), "
        "the operator's upstream as `OPENAI_API_KEY` + `OPENAI_BASE_URL`, `AI_GATEWAY_ENABLED=false`.",
        f"- plan: {R['plan']}",
        "- to re-measure a change to `src/` beside the current code: copy `src/`, apply it, and run "
        "`.venv/bin/python -m bench.compare current NAME=/path/to/copy` (sequential added p50, requests/s and "
        "server CPU per request at 64 clients, interleaved; writes `bench/results/compare.md`)",
        f"- load average (1/5/15 min) before: {R['load_average'].get('before')}; after each round: "
        + "; ".join(f"{i + 1}: {r['load_average']} ({r['seconds']:.0f} s)" for i, r in enumerate(red.rounds))
        + f"; after: {R['load_average'].get('after')}",
        "",
    ]
    out.write_text("\n".join(lines))
    return {
        "targets": [short[n] for n in names],
        "added_ms": [0.0] + [red.added(n) / 1000 for n in names[1:]],
        "rps_json": [red.load(n, "json", 64) for n in names],
        "rps_sse": [red.load(n, "sse", 64) for n in names],
        "title": f"{'quick run' if R.get('quick') else 'full run'}, {R.get('date', '')}",
    }
