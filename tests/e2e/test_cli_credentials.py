"""Users, stored credentials and keys through the real `ideaforge` command, on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.fake_ai_gateway import MODELS, FakeAIGateway

SECRET = "user-canary-Secr3t+/:=%"
CLIENT_ID = "user-canary-client-id"


@pytest.fixture
def user_gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id=CLIENT_ID, client_secret=SECRET) as server:
        yield server


@pytest.fixture
def env_gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_id="env-client", client_secret="env-canary-secret") as server:
        yield server


class Cli:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.tmp_path = tmp_path
        self.env = {"IDEAFORGE_DATA_DIR": str(tmp_path / "data"), "IDEAFORGE_ALLOW_PRIVATE_BASE_URLS": "true", **env}
        self.outputs: list[str] = []

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> CliResult:
        result = run_cli(*args, env={**self.env, **env}, cwd=self.tmp_path, stdin=stdin)
        self.outputs.append(result.output)
        return result

    def database_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in (self.tmp_path / "data").glob("ideaforge.db*"))


def configure_gateway(cli: Cli, user: str, gateway: FakeAIGateway, *extra: str) -> CliResult:
    return cli(
        "providers", "configure", "ai_gateway", "--user", user, "--client-id", gateway.state.client_id,
        "--base-url", gateway.url, *extra, stdin=gateway.state.client_secret + "\n",
    )  # fmt: skip


def test_users_create_list_revoke(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    created = cli("users", "create", "alice", "--json")
    assert created.code == 0, created.output
    token = json.loads(created.stdout)["token"]
    assert len(token) > 30

    assert cli("users", "create", "alice").code == 1
    assert cli("users", "create", "bad name!").code == 1
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [u["name"] for u in listed] == ["alice"] and listed[0]["revoked_at"] is None
    assert token not in cli("users", "list").output

    assert cli("users", "revoke", "alice").code == 0
    assert json.loads(cli("users", "list", "--json").stdout)[0]["revoked_at"] is not None
    assert cli("users", "revoke", "nobody").code == 1
    assert cli("generate", "hi", "--user", "alice").stderr.startswith("error: user 'alice' has been revoked")


def test_configure_verify_generate_with_a_users_own_gateway(
    tmp_path: Path, user_gateway: FakeAIGateway, env_gateway: FakeAIGateway
) -> None:
    cli = Cli(
        tmp_path,
        AI_GATEWAY_CLIENT_ID="env-client",
        AI_GATEWAY_CLIENT_SECRET="env-canary-secret",
        AI_GATEWAY_BASE_URL=env_gateway.url,
        AI_GATEWAY_ENABLED="true",
    )
    cli("users", "create", "alice")
    cli("users", "create", "bob")
    stored = configure_gateway(cli, "alice", user_gateway, "--default-model", "gpt-4.1", "--verify")
    assert stored.code == 0, stored.output
    assert stored.stdout.strip() == "Stored ai_gateway credentials for alice (verified)"

    verified = cli("providers", "verify", "ai_gateway", "--user", "alice")
    assert verified.stdout.strip() == f"OK: ai_gateway verified, {len(MODELS)} models available"

    alice = json.loads(cli("generate", "hello", "--user", "alice", "--json").stdout)
    assert alice["content"] == "echo: hello" and alice["model"] == "gpt-4.1"  # her default model
    assert user_gateway.state.chat_requests == 1 and env_gateway.state.chat_requests == 0

    bob = json.loads(cli("generate", "hello", "--user", "bob", "--tier", "fast", "--json").stdout)
    assert bob["model"] == "gpt-4o-mini"
    assert env_gateway.state.chat_requests == 1 and user_gateway.state.chat_requests == 1

    statuses = {s["provider"]: s for s in json.loads(cli("providers", "list", "--user", "alice", "--json").stdout)}
    assert statuses["ai_gateway"]["source"] == "user" and statuses["ai_gateway"]["last_verification_ok"] is True
    bob_statuses = {s["provider"]: s for s in json.loads(cli("providers", "list", "--user", "bob", "--json").stdout)}
    assert bob_statuses["ai_gateway"]["source"] == "environment"

    everything = "\n".join(cli.outputs)
    assert SECRET not in everything and CLIENT_ID not in everything and "env-canary-secret" not in everything
    database = cli.database_bytes()
    assert database and SECRET.encode() not in database and CLIENT_ID.encode() not in database


def test_disable_remove_and_fall_back_to_the_environment(
    tmp_path: Path, user_gateway: FakeAIGateway, env_gateway: FakeAIGateway
) -> None:
    cli = Cli(
        tmp_path,
        AI_GATEWAY_CLIENT_ID="env-client",
        AI_GATEWAY_CLIENT_SECRET="env-canary-secret",
        AI_GATEWAY_BASE_URL=env_gateway.url,
    )
    cli("users", "create", "alice")
    assert configure_gateway(cli, "alice", user_gateway).code == 0
    assert cli("generate", "x", "--user", "alice").code == 0
    assert cli("providers", "disable", "ai_gateway", "--user", "alice").code == 0
    disabled = cli("generate", "x", "--user", "alice")
    assert disabled.code == 1
    assert disabled.stderr.startswith("error: no provider is usable: ai_gateway disabled in this user's settings; ")
    assert cli("providers", "enable", "ai_gateway", "--user", "alice").code == 0
    assert cli("providers", "remove", "ai_gateway", "--user", "alice").code == 0
    assert cli("providers", "remove", "ai_gateway", "--user", "alice").code == 1
    # AI_GATEWAY_ENABLED is false, so without her own gateway alice has none.
    assert cli("generate", "x", "--user", "alice").code == 1
    assert cli("generate", "x", "--user", "alice", AI_GATEWAY_ENABLED="true").code == 0
    assert env_gateway.state.chat_requests == 1


def test_the_secret_can_come_from_the_environment(tmp_path: Path, user_gateway: FakeAIGateway) -> None:
    cli = Cli(tmp_path)
    cli("users", "create", "alice")
    result = cli(
        "providers", "configure", "ai_gateway", "--user", "alice", "--client-id", CLIENT_ID,
        "--base-url", user_gateway.url, "--verify", IDEAFORGE_PROVIDER_SECRET=SECRET,
    )  # fmt: skip
    assert result.code == 0, result.output


def test_configure_refusals_are_one_line(tmp_path: Path, user_gateway: FakeAIGateway) -> None:
    cli = Cli(tmp_path, IDEAFORGE_ALLOW_PRIVATE_BASE_URLS="false")
    cli("users", "create", "alice")
    private = configure_gateway(cli, "alice", user_gateway)
    assert private.code == 1 and private.stderr.strip() == "error: ai_gateway: base URL must use https"
    nobody = configure_gateway(cli, "nobody", user_gateway)
    assert nobody.code == 1 and "no user named 'nobody'" in nobody.stderr
    no_id = cli("providers", "configure", "ai_gateway", "--user", "alice", stdin="x\n")
    assert no_id.code == 2
    empty = cli("providers", "configure", "openai", "--user", "alice", stdin="\n")
    assert empty.code == 2 and "no secret" in empty.stderr
    cli2 = Cli(tmp_path)
    wrong = cli2(
        "providers", "configure", "ai_gateway", "--user", "alice", "--client-id", CLIENT_ID,
        "--base-url", user_gateway.url, "--verify", stdin="wrong-secret\n",
    )  # fmt: skip
    assert wrong.code == 1 and "invalid_client" in wrong.stderr
    assert json.loads(cli2("providers", "list", "--user", "alice", "--json").stdout)[0]["configured"] is False
    assert all("Traceback" not in o for o in cli.outputs + cli2.outputs)


def test_keys_generate_and_rotate(tmp_path: Path, user_gateway: FakeAIGateway) -> None:
    old = run_cli("keys", "generate", "--kid", "old", env={}, cwd=tmp_path).stdout.strip()
    new = run_cli("keys", "generate", "--kid", "new", env={}, cwd=tmp_path).stdout.strip()
    assert old.startswith("old:") and new.startswith("new:")
    cli = Cli(tmp_path, IDEAFORGE_ENCRYPTION_KEYS=old)
    cli("users", "create", "alice")
    assert configure_gateway(cli, "alice", user_gateway).code == 0

    rotated = cli("keys", "rotate", "--json", IDEAFORGE_ENCRYPTION_KEYS=f"{new},{old}")
    assert rotated.code == 0, rotated.output
    assert json.loads(rotated.stdout)["rows_reencrypted"] == 1
    again = cli("keys", "rotate", "--json", IDEAFORGE_ENCRYPTION_KEYS=f"{new},{old}")
    assert json.loads(again.stdout)["rows_reencrypted"] == 0

    assert cli("providers", "verify", "ai_gateway", "--user", "alice", IDEAFORGE_ENCRYPTION_KEYS=new).code == 0
    # The key that encrypted them left out: no start, one line naming the key ids (issue 18).
    refused = cli("providers", "list", "--user", "alice", "--json", IDEAFORGE_ENCRYPTION_KEYS=old)
    assert refused.code == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.output
    assert "key id new is not configured" in refused.stderr and "configured: old" in refused.stderr
    accepted = {"IDEAFORGE_ENCRYPTION_KEYS": old, "IDEAFORGE_ACCEPT_UNREADABLE_CREDENTIALS": "true"}
    lost = cli("providers", "list", "--user", "alice", "--json", **accepted)
    status = json.loads(lost.stdout)[0]
    assert status["needs_reconfiguration"] is True and "configure" in status["problem"]
    unusable = cli("generate", "x", "--user", "alice", **accepted)
    assert unusable.code == 1 and "Traceback" not in unusable.stderr
    assert old.split(":", 1)[1] not in "\n".join(cli.outputs[1:])


def test_postgres_without_keys_is_a_clear_start_up_error(tmp_path: Path) -> None:
    result = run_cli(
        "users", "list", env={"IDEAFORGE_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/db"}, cwd=tmp_path
    )
    assert result.code == 1
    assert result.stderr.strip().startswith("error: IDEAFORGE_ENCRYPTION_KEYS must be set")


def test_an_api_key_comes_from_a_file_and_one_on_the_command_line_warns(tmp_path: Path) -> None:
    """Issue 18, case 11: argv is visible in the process list."""
    cli = Cli(tmp_path)
    cli("users", "create", "alice")
    key_file = tmp_path / "openai.key"
    key_file.write_text("sk-from-a-file-canary\n")
    from_file = cli("providers", "configure", "openai", "--user", "alice", "--api-key-file", str(key_file))
    assert from_file.code == 0 and "warning" not in from_file.stderr, from_file.output
    on_argv = cli("providers", "configure", "openai", "--user", "alice", "--api-key", "sk-on-argv-canary")
    assert on_argv.code == 0
    assert "warning: --api-key puts the key in the process list" in on_argv.stderr
    both = cli("providers", "configure", "openai", "--user", "alice", "--api-key", "x", "--api-key-file", str(key_file))
    assert both.code == 2 and both.stderr.strip() == "error: give --api-key or --api-key-file, not both"
    missing = cli("providers", "configure", "openai", "--user", "alice", "--api-key-file", str(tmp_path / "nope"))
    assert missing.code == 2 and missing.stderr.count("\n") == 1 and "FileNotFoundError" in missing.stderr
    assert all("Traceback" not in o for o in cli.outputs)
    assert "sk-from-a-file-canary" not in "".join(cli.outputs)


def test_operator_secrets_with_a_trailing_newline_work_and_bad_ones_are_one_line(
    tmp_path: Path, env_gateway: FakeAIGateway
) -> None:
    """Issue 18, case 6, through the real command."""
    cli = Cli(
        tmp_path,
        AI_GATEWAY_ENABLED="true",
        AI_GATEWAY_BASE_URL=env_gateway.url,
        AI_GATEWAY_CLIENT_ID="env-client\n",
        AI_GATEWAY_CLIENT_SECRET="env-canary-secret\n",
    )
    verified = cli("providers", "verify", "ai_gateway")
    assert verified.code == 0, verified.output
    bad = cli("providers", "verify", "ai_gateway", AI_GATEWAY_CLIENT_SECRET="env-canary\x01secret")
    assert bad.code == 2 and bad.stderr.count("\n") == 1, bad.output
    assert "AI_GATEWAY_CLIENT_SECRET" in bad.stderr and "printable ASCII" in bad.stderr
    assert "canary" not in bad.stderr and all("Traceback" not in o for o in cli.outputs)
