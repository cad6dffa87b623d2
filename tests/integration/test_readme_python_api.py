"""README's "Python API" snippets run as written, each in a fresh interpreter, against the loopback
AI Gateway: what a host application's developer would paste."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.readme import EXPECTED, SNIPPETS


def test_the_section_has_the_snippets_this_test_expects() -> None:
    assert len(SNIPPETS) == len(EXPECTED)
    assert "from ideaforge_gateway import provider_registry" in SNIPPETS[0]


@pytest.mark.parametrize(
    ("snippet", "expected"), list(zip(SNIPPETS, EXPECTED, strict=True)), ids=["seed", "agno", "close"]
)
def test_a_readme_snippet_runs_as_written(
    tmp_path: Path, gateway: FakeAIGateway, snippet: str, expected: list[str]
) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(snippet)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AI_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IDEAFORGE_"))
    }
    env |= {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": gateway.state.client_secret,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_ENABLED": "true",
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
        "AGNO_TELEMETRY": "false",
        "PYTHONWARNINGS": "always::ResourceWarning",
    }
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected
    assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr, done.stderr
