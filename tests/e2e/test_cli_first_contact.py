"""What a new operator meets first: each mistake is one clear line and a non-zero exit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway() as server:
        yield server


def one_error_line(result: CliResult) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", [("users", "list"), ("serve", "--port", "1")])
def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path, command: tuple[str, ...]) -> None:
    data = tmp_path / "not-a-folder"
    data.write_text("")
    result = run_cli(*command, env={"IDEAFORGE_DATA_DIR": str(data)}, cwd=tmp_path)
    assert result.code == 1
    line = one_error_line(result)
    assert f"IDEAFORGE_DATA_DIR {data} is a file, not a folder" in line


@pytest.mark.parametrize("command", [("users", "list"), ("serve", "--port", "1")])
def test_a_data_dir_that_cannot_be_made_is_named(tmp_path: Path, command: tuple[str, ...]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    data = blocker / "data"  # under a file: no one can make it
    result = run_cli(*command, env={"IDEAFORGE_DATA_DIR": str(data)}, cwd=tmp_path)
    assert result.code == 1
    assert f"IDEAFORGE_DATA_DIR {data} cannot be made" in one_error_line(result)


def test_a_database_path_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    env = {"IDEAFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'file' / 'x.db'}", "IDEAFORGE_DATA_DIR": str(tmp_path)}
    result = run_cli("users", "list", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "check IDEAFORGE_DATA_DIR and IDEAFORGE_DATABASE_URL" in one_error_line(result)


def test_models_with_nothing_configured_says_so(tmp_path: Path) -> None:
    result = run_cli("models", env={"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.code == 1
    assert result.stdout == ""
    assert one_error_line(result).startswith("error: no provider is configured: set a vendor API key")


def test_models_json_with_nothing_configured_is_an_empty_list_and_a_failure(tmp_path: Path) -> None:
    result = run_cli("models", "--json", env={"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert result.code == 1
    assert json.loads(result.stdout) == []
    one_error_line(result)


def gateway_without_switch(gateway: FakeAIGateway, tmp_path: Path) -> dict[str, str]:
    """The AI Gateway's credentials, but not AI_GATEWAY_ENABLED: a new operator's usual slip."""
    return {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": gateway.state.client_secret,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
    }


def test_verify_says_the_gateway_works_but_is_switched_off(gateway: FakeAIGateway, tmp_path: Path) -> None:
    env = gateway_without_switch(gateway, tmp_path)
    result = run_cli("providers", "verify", "ai_gateway", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.strip() == (
        f"OK: ai_gateway verified, {len(MODELS)} models available (but the environment's AI Gateway credentials "
        "are set, but AI_GATEWAY_ENABLED is not true, so requests do not use them: set AI_GATEWAY_ENABLED=true)"
    )
    document = json.loads(run_cli("providers", "verify", "ai_gateway", "--json", env=env, cwd=tmp_path).stdout)
    assert document["valid"] is True
    assert "AI_GATEWAY_ENABLED is not true" in document["note"]


def test_verify_with_the_switch_on_has_no_note(gateway: FakeAIGateway, tmp_path: Path) -> None:
    env = gateway_without_switch(gateway, tmp_path) | {"AI_GATEWAY_ENABLED": "true"}
    document = json.loads(run_cli("providers", "verify", "ai_gateway", "--json", env=env, cwd=tmp_path).stdout)
    assert document["valid"] is True
    assert document["note"] is None


@pytest.mark.parametrize("command", [("generate", "hello"), ("models",)])
def test_generate_and_models_say_why_the_gateway_is_not_used(
    gateway: FakeAIGateway, tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = run_cli(*command, env=gateway_without_switch(gateway, tmp_path), cwd=tmp_path)
    assert result.code == 1
    assert one_error_line(result) == (
        "error: no provider is usable: the environment's AI Gateway credentials are set, but AI_GATEWAY_ENABLED "
        "is not true, so requests do not use them: set AI_GATEWAY_ENABLED=true"
    )
    assert gateway.state.chat_requests == 0
