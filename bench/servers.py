"""The servers of the side-by-side run, each in a process of its own, and what /proc says of them.

Every server is started with its CPU affinity already set (so its threads and children inherit
it), on a free loopback port, and is "ready" when its health URL first answers 200: that
interval is its start-to-ready time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.environment import REPO

VENVS = Path(os.environ.get("BENCH_VENVS") or Path.home() / ".cache" / "ideaforge-bench-venvs")
"""Where the venvs outside the project live (LiteLLM, matplotlib, py-spy): `$BENCH_VENVS`, else
`~/.cache/ideaforge-bench-venvs`."""
LITELLM_VERSION = "1.108.7"
"""Pinned; never 1.82.7 or 1.82.8 (withdrawn releases)."""
LITELLM_VENV = VENVS / "litellm"
TOOLS_VENV = VENVS / "tools"
TOOLS = ("matplotlib", "py-spy")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
MODEL = "gpt-4o-mini"
OPENAI_KEY = "bench-openai-key"
LITELLM_MASTER_KEY = "sk-bench-" + "5f" * 24
"""LiteLLM refuses to start without a master key; with one (and no database) it checks each
request's bearer against it, as `ideaforge serve` checks its users' tokens."""
GW_CLIENT_ID = "bench-gw-client"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            found += [int(c) for c in text]
    except OSError:
        pass
    return found


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += _children(current)
    return out


def pin_tree(pid: int, cpus: set[int] | None) -> None:
    """Every thread of `pid` and of its descendants onto `cpus`."""
    if not cpus:
        return
    for p in tree(pid):
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                os.sched_setaffinity(int(task), cpus)
        except OSError:
            pass


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its descendants (all threads), from /proc."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def run_ns(pid: int) -> int:
    """Nanoseconds on CPU of every thread of `pid` and its descendants (schedstat: fine-grained,
    unlike the 10 ms ticks of /proc/PID/stat)."""
    total = 0
    for p in tree(pid):
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                total += int(Path(f"/proc/{p}/task/{task}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


async def settle(pid: int, window: float = 0.002, max_wait: float = 0.2, idle: float = 0.05) -> None:
    """Wait (up to `max_wait`) until `pid` uses less than `idle` of a core over `window`: work a
    server does after answering (logging, callbacks) must not land on the next target's clock."""
    import asyncio

    deadline = time.perf_counter() + max_wait
    before = run_ns(pid)
    while time.perf_counter() < deadline:
        await asyncio.sleep(window)
        now = run_ns(pid)
        if now - before < window * 1e9 * idle:
            return
        before = now


def core_ticks(cpu: int | None) -> tuple[int, int]:
    """(busy, total) jiffies of one CPU since boot, from /proc/stat, for everything running on it."""
    if cpu is None:
        return 0, 0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            values = [int(v) for v in line.split()[1:]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            return sum(values) - idle, sum(values)
    return 0, 0


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` and its descendants now."""
    return sum(_status_kb(p, "VmRSS") for p in tree(pid)) / 1024


def peak_rss_mib(pid: int) -> float:
    """The high-water mark of resident memory (each process's VmHWM, summed over the tree)."""
    return sum(_status_kb(p, "VmHWM") for p in tree(pid)) / 1024


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return dict(json.loads(response.read()))


@dataclass
class Server:
    """A server under test: started, waited for, measured, stopped."""

    name: str
    args: Sequence[str]
    port: int
    health_path: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = REPO
    cpus: set[int] | None = None
    chat_path: str = "/v1/chat/completions"
    proc: subprocess.Popen[bytes] | None = None
    ready_s: float = float("nan")
    idle_rss: float = float("nan")
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def chat_url(self) -> str:
        return self.url + self.chat_path

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> Server:
        cpus = self.cpus
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{self.name.split()[0]}-", suffix=".log")[1])
        env = clean_env(**self.env)
        started = time.perf_counter()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                list(self.args),
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
                start_new_session=True,
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            if http_ok(self.url + self.health_path, timeout=0.5):
                self.ready_s = time.perf_counter() - started
                time.sleep(0.3)
                self.idle_rss = rss_mib(self.pid)
                return self
            time.sleep(0.01)
        tail = self.tail()
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout:g} s: {tail}")

    def tail(self, lines: int = 15) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (its whole process group) and delete its log."""
        if self.log is not None:
            self.log.unlink(missing_ok=True)
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# --- set-up of what lives outside the project's venv ---------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _base_python() -> str:
    """A Python with `venv` and `ensurepip` (the project's uv-made venv has no pip)."""
    for candidate in (getattr(sys, "_base_executable", None), shutil.which("python3"), "/usr/bin/python3"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return "python3"


def ensure_litellm(say: Callable[[str], None]) -> Path:
    """LiteLLM's proxy, pinned, in a virtual environment of its own outside the repo."""
    python = _venv_python(LITELLM_VENV)
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == LITELLM_VERSION:
        return python
    shutil.rmtree(LITELLM_VENV, ignore_errors=True)
    LITELLM_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([_base_python(), "-m", "venv", str(LITELLM_VENV)], check=True)
    say(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} (once, ~1 min)")
    subprocess.run(
        [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"], check=True
    )
    return python


def ensure_tools(say: Callable[[str], None]) -> Path:
    """matplotlib (the chart) and py-spy (the profile), in a tools venv outside the repo."""
    python = _venv_python(TOOLS_VENV)
    probe = [str(python), "-c", "import matplotlib"]
    if not (
        python.exists()
        and subprocess.run(probe, capture_output=True).returncode == 0
        and (TOOLS_VENV / "bin" / "py-spy").exists()
    ):
        shutil.rmtree(TOOLS_VENV, ignore_errors=True)
        TOOLS_VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([_base_python(), "-m", "venv", str(TOOLS_VENV)], check=True)
        say(f"installing {' '.join(TOOLS)} into {TOOLS_VENV} (once)")
        subprocess.run([str(TOOLS_VENV / "bin" / "pip"), "install", "-q", *TOOLS], check=True)
    return python


def version_of(python: Path, package: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "absent"


# --- the servers ---------------------------------------------------------------------------------

PROJECT_PY = REPO / ".venv" / "bin" / "python"
IDEAFORGE = REPO / ".venv" / "bin" / "ideaforge"
_SCRUB = ("AI_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IDEAFORGE_")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any provider or IdeaForge setting a developer's shell may carry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update(extra)
    return env


def uvicorn_args(python: Path, app: str, port: int) -> list[str]:
    return [
        str(python),
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-server-header",
    ]


def passthrough(kind: str, upstream: str, cpus: set[int] | None) -> Server:
    port = free_port()
    return Server(
        name=f"naive FastAPI passthrough ({kind})",
        args=uvicorn_args(PROJECT_PY, f"bench.passthrough:{kind}_app", port),
        port=port,
        health_path="/healthz",
        env={"BENCH_UPSTREAM": upstream},
        cpus=cpus,
    )


def litellm_proxy(python: Path, upstream: str, cpus: set[int] | None, workdir: Path) -> Server:
    port = free_port()
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream}/v1\n"
        f"      api_key: {OPENAI_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
    )
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "DISABLE_SCHEMA_UPDATE": "True",
        "LITELLM_MASTER_KEY": LITELLM_MASTER_KEY,
    }
    return Server(
        name=f"LiteLLM proxy {LITELLM_VERSION}",
        args=[
            str(python.parent / "litellm"),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        port=port,
        health_path="/health/liveliness",
        env=env,
        cwd=workdir,
        cpus=cpus,
    )


@dataclass
class IdeaForgeSetup:
    data_dir: Path
    env: dict[str, str]
    tokens: dict[str, str]
    """user name -> API token"""


def ideaforge_env(data_dir: Path, upstream: str) -> dict[str, str]:
    return clean_env(
        IDEAFORGE_DATA_DIR=str(data_dir),
        IDEAFORGE_ALLOW_PRIVATE_BASE_URLS="true",
        IDEAFORGE_LOG_LEVEL="warning",
        OPENAI_API_KEY=OPENAI_KEY,
        OPENAI_BASE_URL=f"{upstream}/v1",
        AI_GATEWAY_ENABLED="false",
    )


def setup_ideaforge(upstream: str, workdir: Path) -> IdeaForgeSetup:
    """A data dir with two users: `bench` (the operator's OpenAI-compatible upstream, from the
    environment) and `bench-gw` (its own AI Gateway credentials: OAuth2 client credentials against
    the upstream's token endpoint, found by discovery; the environment's OpenAI behind it)."""
    data_dir = workdir / "ideaforge-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = ideaforge_env(data_dir, upstream)
    tokens = {}
    for name in ("bench", "bench-gw"):
        out = subprocess.run(
            [str(IDEAFORGE), "users", "create", name, "--json"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        tokens[name] = json.loads(out.stdout)["token"]
    subprocess.run(
        [
            str(IDEAFORGE),
            "providers",
            "configure",
            "ai_gateway",
            "--user",
            "bench-gw",
            "--client-id",
            GW_CLIENT_ID,
            "--base-url",
            upstream,
        ],
        cwd=workdir,
        env=env,
        input="bench-gw-secret\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return IdeaForgeSetup(data_dir, env, tokens)


def ideaforge_server(setup: IdeaForgeSetup, cpus: set[int] | None, workdir: Path) -> Server:
    port = free_port()
    return Server(
        name="ideaforge serve",
        args=[str(IDEAFORGE), "serve", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        health_path="/healthz",
        env=setup.env,
        cwd=workdir,
        cpus=cpus,
    )
