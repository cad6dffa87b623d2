"""Every CLI command that takes `--user` refuses an unknown user by name, with one line and exit 1,
instead of answering with the environment's credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import FakeAIGateway


@pytest.mark.parametrize(
    "command",
    [
        ("generate", "hello"),
        ("models",),
        ("providers", "verify", "ai_gateway"),
        ("providers", "list"),
    ],
    ids=lambda c: " ".join(c),
)
def test_a_command_for_an_unknown_user_names_them(tmp_path: Path, command: tuple[str, ...]) -> None:
    with FakeAIGateway() as gateway:
        env = {
            "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
            "AI_GATEWAY_CLIENT_SECRET": gateway.state.client_secret,
            "AI_GATEWAY_BASE_URL": gateway.url,
            "AI_GATEWAY_ENABLED": "true",
            "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
            "AGNO_TELEMETRY": "false",
        }
        done = run_cli(*command, "--user", "nobody", env=env, cwd=tmp_path)
        assert done.code == 1, done.output
        assert done.stderr.strip() == "error: no user named 'nobody': create one with `ideaforge users create nobody`"
        assert done.stdout == "" and gateway.state.token_requests == 0
