"""The `ideaforge` command against a loopback AI Gateway, as an operator would run it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway

CANARY = "canary-Secr3t+/:=%-7f1c"


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_secret=CANARY) as server:
        yield server


def gateway_env(gateway: FakeAIGateway, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": gateway.state.client_secret,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_ENABLED": "true",
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
        "IDEAFORGE_LOG_LEVEL": "debug",
    }
    env.update(extra)
    return env


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", env={}, cwd=tmp_path)
    assert result.code == 0
    for command in ("providers", "models", "generate"):
        assert command in result.stdout


def test_providers_verify_prints_ok_and_the_model_count(gateway: FakeAIGateway, tmp_path: Path) -> None:
    result = run_cli("providers", "verify", "ai_gateway", env=gateway_env(gateway, tmp_path), cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.strip() == f"OK: ai_gateway verified, {len(MODELS)} models available"
    assert CANARY not in result.output


def test_providers_verify_with_a_wrong_secret_is_one_clear_line(gateway: FakeAIGateway, tmp_path: Path) -> None:
    env = gateway_env(gateway, tmp_path, AI_GATEWAY_CLIENT_SECRET=CANARY + "-wrong", IDEAFORGE_LOG_LEVEL="warning")
    result = run_cli("providers", "verify", "ai_gateway", env=env, cwd=tmp_path)
    assert result.code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: AI Gateway rejected the client credentials (invalid_client)")
    assert CANARY not in result.output
    assert gateway.state.token_requests == 1


def test_models_json(gateway: FakeAIGateway, tmp_path: Path) -> None:
    result = run_cli("models", "--provider", "ai_gateway", "--json", env=gateway_env(gateway, tmp_path), cwd=tmp_path)
    assert result.code == 0, result.output
    assert [m["id"] for m in json.loads(result.stdout)] == MODELS


def test_generate_json_has_content_provider_model_usage_and_attempts(gateway: FakeAIGateway, tmp_path: Path) -> None:
    result = run_cli(
        "generate", "Hello gateway", "--tier", "fast", "--json", env=gateway_env(gateway, tmp_path), cwd=tmp_path
    )
    assert result.code == 0, result.output
    document = json.loads(result.stdout)
    assert document["content"] == "echo: Hello gateway"
    assert document["provider"] == "ai_gateway"
    assert document["model"] == "gpt-4o-mini"
    assert document["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    assert [a["outcome"] for a in document["attempts"]] == ["ok"]
    assert CANARY not in result.output


def test_generate_streams_to_the_terminal(gateway: FakeAIGateway, tmp_path: Path) -> None:
    result = run_cli(
        "generate",
        "stream me please",
        "--stream",
        "--model",
        "gpt-4.1",
        env=gateway_env(gateway, tmp_path),
        cwd=tmp_path,
    )
    assert result.code == 0, result.output
    assert result.stdout == "echo: stream me please\n"
    assert gateway.state.last_chat_body is not None and gateway.state.last_chat_body["model"] == "gpt-4.1"


def test_generate_stream_json_is_one_document(gateway: FakeAIGateway, tmp_path: Path) -> None:
    result = run_cli("generate", "hi", "--stream", "--json", env=gateway_env(gateway, tmp_path), cwd=tmp_path)
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["content"] == "echo: hi"


def test_generate_without_any_provider_says_what_to_set(tmp_path: Path) -> None:
    result = run_cli("generate", "hi", env={"IDEAFORGE_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.startswith("error: no provider is configured")
    assert "Traceback" not in result.stderr


def test_an_unknown_tier_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("generate", "hi", "--tier", "turbo", env={}, cwd=tmp_path)
    assert result.code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Invalid value for '--tier'"), result.stderr


def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("models", env={"AI_GATEWAY_BASE_URL": "not-a-url"}, cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.startswith("error: invalid configuration: AI_GATEWAY_BASE_URL")


def test_an_unreachable_gateway_is_one_line(tmp_path: Path) -> None:
    with FakeAIGateway() as gone:
        url = gone.url
    env = {
        "AI_GATEWAY_CLIENT_ID": "id",
        "AI_GATEWAY_CLIENT_SECRET": CANARY,
        "AI_GATEWAY_BASE_URL": url,
        "AI_GATEWAY_TOKEN_URL": f"{url}/oauth/token",
        "AI_GATEWAY_ENABLED": "true",
    }
    result = run_cli("generate", "hi", env=env, cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.startswith("error: AI Gateway token request failed")
    assert len(result.stderr.strip().splitlines()) == 1
    assert CANARY not in result.output


def test_generate_json_shows_the_fallback_and_why(gateway: FakeAIGateway, tmp_path: Path) -> None:
    gateway.state.chat_failures = [503, 503]
    with FakeAIGateway(api_key="sk-openai-canary") as openai:
        env = gateway_env(gateway, tmp_path, OPENAI_API_KEY="sk-openai-canary", OPENAI_BASE_URL=f"{openai.url}/v1")
        result = run_cli("generate", "fall over", "--json", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    document = json.loads(result.stdout)
    assert document["provider"] == "openai" and document["content"] == "echo: fall over"
    assert [(a["provider"], a["outcome"]) for a in document["attempts"]] == [
        ("ai_gateway", "unavailable"),
        ("ai_gateway", "unavailable"),
        ("openai", "ok"),
    ]
    assert "HTTP 503" in document["attempts"][0]["error"]
    assert "sk-openai-canary" not in result.output and CANARY not in result.output


def test_generate_json_failure_is_one_document_with_the_attempts(gateway: FakeAIGateway, tmp_path: Path) -> None:
    gateway.state.chat_failures = [503, 503]
    result = run_cli("generate", "no luck", "--json", env=gateway_env(gateway, tmp_path), cwd=tmp_path)
    assert result.code == 1
    document = json.loads(result.stdout)
    assert document["kind"] == "unavailable" and "HTTP 503" in document["error"]
    assert [a["outcome"] for a in document["attempts"]] == ["unavailable", "unavailable"]
