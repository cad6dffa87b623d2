"""The wheel in a host application's own fresh virtual environment, next to the host's own
`domain`, `application`, `adapters` and `entrypoints` packages: no clash, and the seed's snippets
(README's "Python API") run there against the loopback AI Gateway.

Offline: the wheel is built and the locked dependencies are installed from uv's cache (filled by
`uv sync`, which CI runs first), so the test needs no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_ai_gateway import MODELS, FakeAIGateway
from tests.support.readme import EXPECTED, SNIPPETS

ROOT = Path(__file__).resolve().parents[2]
HOST_PACKAGES = ("domain", "application", "adapters", "entrypoints")

HOST_APP = """
import asyncio
import sys

import domain
import application
import ideaforge_gateway
from ideaforge_gateway import AIGatewayModel, provider_registry
from ideaforge_gateway.domain.models import Tier


async def main() -> None:
    if provider_registry.has_ai_gateway():
        client = provider_registry.get_ai_gateway_client()
        models = await client.list_models()
        print("models:", len(models))
    await ideaforge_gateway.aclose()


asyncio.run(main())
print("host domain:", domain.OWNER, application.OWNER)
print("gateway from:", ideaforge_gateway.__file__.startswith(sys.prefix), Tier.FAST.value)
from agno.agent import Agent

print(Agent(model=AIGatewayModel(id="gpt-4o")).run("from the host").content)
"""


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [shutil.which("python3") or "python3", "-m", "uv"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def host_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its locked dependencies, nothing else."""
    work = tmp_path_factory.mktemp("host")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    run(*uv(), "build", "--wheel", "--offline", "--out-dir", str(work / "dist"), cwd=ROOT, env=env)
    (wheel,) = (work / "dist").glob("ideaforge_gateway-*.whl")
    venv = work / "venv"
    sync_env = env | {"UV_PROJECT_ENVIRONMENT": str(venv)}
    run(*uv(), "sync", "--frozen", "--offline", "--no-dev", "--no-install-project", "--quiet", cwd=ROOT, env=sync_env)
    python = venv / "bin" / "python"
    run(*uv(), "pip", "install", "--offline", "--no-deps", "--python", str(python), str(wheel), cwd=work, env=env)
    return python


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway() as server:
        yield server


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """The host application: packages named like ours, of its own."""
    for name in HOST_PACKAGES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f'OWNER = "the host\'s {name}"\n')
    (tmp_path / "app.py").write_text(HOST_APP)
    return tmp_path


def host_env(gateway: FakeAIGateway, data: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AI_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IDEAFORGE_", "PYTHON"))
    }
    return env | {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": gateway.state.client_secret,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_ENABLED": "true",
        "IDEAFORGE_DATA_DIR": str(data),
        "AGNO_TELEMETRY": "false",
    }


def test_the_wheel_installs_one_import_root(host_python: Path) -> None:
    probe = "import sysconfig, os; print(sorted(os.listdir(sysconfig.get_paths()['purelib'])))"
    installed = run(str(host_python), "-c", probe, cwd=host_python.parent).stdout
    assert "'ideaforge_gateway'" in installed
    for name in (*HOST_PACKAGES, "src", "tests", "bench"):
        assert f"'{name}'" not in installed


def test_the_host_and_the_gateway_import_side_by_side(host_python: Path, host: Path, gateway: FakeAIGateway) -> None:
    done = run(str(host_python), "app.py", cwd=host, env=host_env(gateway, host / "data"))
    assert done.stdout.splitlines() == [
        f"models: {len(MODELS)}",
        "host domain: the host's domain the host's application",
        "gateway from: True fast",
        "echo: from the host",
    ]
    help_text = run(str(host_python.parent / "ideaforge"), "--help", cwd=host, env=host_env(gateway, host / "data"))
    assert "providers" in help_text.stdout


@pytest.mark.parametrize(
    ("snippet", "expected"), list(zip(SNIPPETS, EXPECTED, strict=True)), ids=["seed", "agno", "close"]
)
def test_the_readme_snippets_run_in_the_host(
    host_python: Path, host: Path, gateway: FakeAIGateway, snippet: str, expected: list[str]
) -> None:
    (host / "snippet.py").write_text(snippet)
    done = run(str(host_python), "snippet.py", cwd=host, env=host_env(gateway, host / "data"))
    assert done.stdout.splitlines() == expected
    assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr, done.stderr
