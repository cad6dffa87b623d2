"""`ideaforge models --catalog`, verify's warnings and `serve`'s start-up check, as an operator
runs them, against a loopback AI Gateway and its catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_catalog import CATALOG, INSTANCE, FakeCatalog, Instance
from tests.support.serve_process import ServeProcess

SECRET = "catalog-canary-Secr3t"


@pytest.fixture
def gateway() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(client_secret=SECRET) as server:
        yield server


@pytest.fixture
def catalog() -> Iterator[FakeCatalog]:
    with FakeCatalog(client_secret=SECRET) as server:
        yield server


def env_for(gateway: FakeAIGateway, catalog_url: str | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "AI_GATEWAY_CLIENT_ID": gateway.state.client_id,
        "AI_GATEWAY_CLIENT_SECRET": SECRET,
        "AI_GATEWAY_BASE_URL": gateway.url,
        "AI_GATEWAY_ENABLED": "true",
        "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
    }
    if catalog_url is not None:
        env |= {  # the OpenAI-compatible route overridden back to the loopback gateway
            "AI_GATEWAY_INSTANCE_ID": INSTANCE,
            "AI_GATEWAY_CATALOG_URL": catalog_url,
            "AI_GATEWAY_OPENAI_BASE_URL": f"{gateway.url}/v1",
        }
    return env | extra


def test_the_catalog_as_a_table(gateway: FakeAIGateway, catalog: FakeCatalog, tmp_path: Path) -> None:
    result = run_cli("models", "--catalog", env=env_for(gateway, catalog.url, tmp_path), cwd=tmp_path)
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FAMILY", "MODEL", "IN", "$/M", "OUT", "$/M", "CLASSIFICATION"]
    rows = [line.split() for line in lines[1:]]
    assert rows[0] == ["openai", "gpt-4o", "2.50", "10.00", "Green"]
    assert rows[1] == ["openai", "gpt-4o-mini", "0.15", "0.60", "Green"]
    assert ["google-gemini", "gemini-2.5-pro", "1.25", "10.00", "Yellow"] in rows
    assert rows[-1] == ["anthropic", "claude-sonnet-4-5-20250929", "3.00", "15.00", "Red"]
    assert SECRET not in result.output


def test_the_catalog_as_json_and_filtered_by_provider(
    gateway: FakeAIGateway, catalog: FakeCatalog, tmp_path: Path
) -> None:
    env = env_for(gateway, catalog.url, tmp_path)
    result = run_cli("models", "--catalog", "--provider", "google-gemini", "--json", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "family": "google-gemini",
            "endpoint": "gemini",
            "model": "gemini-2.5-pro",
            "classification": "Yellow",
            "classification_level": 1,
            "price": {"input": 1.25, "output": 10.0, "unit": "USD per million tokens"},
        }
    ]
    assert catalog.state.seen_providers == ["google-gemini"]


def test_the_policy_hides_models_above_it_and_says_so(
    gateway: FakeAIGateway, catalog: FakeCatalog, tmp_path: Path
) -> None:
    env = env_for(gateway, catalog.url, tmp_path, AI_GATEWAY_MAX_CLASSIFICATION="Green")
    result = run_cli("models", "--catalog", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert [line.split()[1] for line in result.stdout.splitlines()[1:]] == ["gpt-4o", "gpt-4o-mini", "gpt-4.1"]
    assert result.stderr.strip() == (
        "note: models classified above Green are not listed (AI_GATEWAY_MAX_CLASSIFICATION)"
    )


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ({"client_secret": "other"}, "error: AI Gateway rejected the credentials for model catalog (HTTP 401)"),
        ({"failure": 503}, "error: AI Gateway could not answer model catalog (HTTP 503)"),
        ({"malformed": True}, "error: AI Gateway sent a malformed model catalog"),
    ],
)
def test_a_catalog_that_does_not_answer_is_one_line_and_exit_1(
    gateway: FakeAIGateway, tmp_path: Path, fault: dict[str, object], words: str
) -> None:
    with FakeCatalog(**{"client_secret": SECRET, **fault}) as failing:
        for form in ((), ("--json",)):
            result = run_cli("models", "--catalog", *form, env=env_for(gateway, failing.url, tmp_path), cwd=tmp_path)
            assert result.code == 1 and result.stdout == ""
            assert result.stderr.strip().splitlines() == [result.stderr.strip()]
            assert result.stderr.startswith(words) and SECRET not in result.output


def test_without_an_instance_the_catalog_says_what_to_do(gateway: FakeAIGateway, tmp_path: Path) -> None:
    unset = run_cli("models", "--catalog", env=env_for(gateway, None, tmp_path), cwd=tmp_path)
    assert unset.code == 1 and unset.stderr.strip() == (
        "error: the AI Gateway's catalog needs an instance: set AI_GATEWAY_INSTANCE_ID"
    )
    nobody = run_cli("models", "--catalog", "--user", "alice", env=env_for(gateway, None, tmp_path), cwd=tmp_path)
    assert nobody.code == 1 and "no user named 'alice'" in nobody.stderr
    wrong = run_cli("models", "--provider", "google-gemini", env=env_for(gateway, None, tmp_path), cwd=tmp_path)
    assert wrong.code == 2 and "--provider must be one of ai_gateway" in wrong.stderr


def test_verify_warns_about_a_tier_model_the_instance_does_not_offer(
    gateway: FakeAIGateway, catalog: FakeCatalog, tmp_path: Path
) -> None:
    env = env_for(gateway, catalog.url, tmp_path)
    result = run_cli("providers", "verify", "ai_gateway", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.startswith("OK: ai_gateway verified")
    assert result.stderr.strip() == (
        f"warning: model 'gpt-4-turbo' is not offered by the catalog of AI Gateway instance '{INSTANCE}': "
        "change AI_GATEWAY_PREMIUM_MODEL to one it offers"
    )
    document = json.loads(run_cli("providers", "verify", "ai_gateway", "--json", env=env, cwd=tmp_path).stdout)
    assert len(document["warnings"]) == 1 and "AI_GATEWAY_PREMIUM_MODEL" in document["warnings"][0]


def test_serve_warns_at_start_about_the_tier_models_and_users_default_models(
    gateway: FakeAIGateway, catalog: FakeCatalog, tmp_path: Path
) -> None:
    env = env_for(gateway, catalog.url, tmp_path)
    assert run_cli("users", "create", "alice", env=env, cwd=tmp_path).code == 0
    configured = run_cli(
        "providers", "configure", "ai_gateway", "--user", "alice", "--client-id", "alice-client",
        "--default-model", "gpt-5-preview", env=env, cwd=tmp_path, stdin="alice-secret\n",
    )  # fmt: skip
    assert configured.code == 0, configured.output
    with ServeProcess(env=env, cwd=tmp_path) as server:
        lines = server.wait_for(lambda lines: any("alice" in x for x in lines), "the models check")
        # The worker reads the catalog too, once it is up (one read each: the check's and its own).
        server.wait_for(lambda _: catalog.state.requests >= 2, "the worker's catalog read")
        token = run_cli("users", "create", "bob", "--json", env=env, cwd=tmp_path).stdout
        body = {"model": "gpt-4-turbo", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {json.loads(token)['token']}"}
        refused = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=60)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "model_not_offered"
    assert gateway.state.chat_requests == 0
    warnings = [x for x in lines if "is not offered by" in x]
    assert any("'gpt-4-turbo'" in x and "change AI_GATEWAY_PREMIUM_MODEL" in x for x in warnings), lines
    assert any(
        "user 'alice''s default model 'gpt-5-preview' is not offered by the catalog" in x and "--default-model" in x
        for x in warnings
    ), lines
    assert not any(SECRET in x or "alice-secret" in x for x in lines)


def test_the_plain_model_list_shows_the_catalogs_prices_and_classification(
    gateway: FakeAIGateway, catalog: FakeCatalog, tmp_path: Path
) -> None:
    env = env_for(gateway, catalog.url, tmp_path)
    result = run_cli("models", "--provider", "ai_gateway", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert "ai_gateway\tgpt-4o\t$2.50 in / $10.00 out per million tokens\tGreen" in lines
    assert "ai_gateway\tgpt-4-turbo" in lines  # not in the catalog: nothing to add
    listed = {m["id"]: m for m in json.loads(run_cli("models", "--json", env=env, cwd=tmp_path).stdout)}
    assert listed["gpt-4o-mini"]["price"] == {"input": 0.15, "output": 0.6, "unit": "USD per million tokens"}
    assert listed["claude-sonnet-4-5-20250929"]["classification"] == "Red"
    assert listed["gpt-4-turbo"]["price"] is None and listed["gpt-4-turbo"]["classification"] is None


def configure_user(env: dict[str, str], tmp_path: Path, name: str, *options: str, secret: str) -> None:
    assert run_cli("users", "create", name, env=env, cwd=tmp_path).code == 0
    configured = run_cli(
        "providers", "configure", "ai_gateway", "--user", name, *options, env=env, cwd=tmp_path, stdin=f"{secret}\n"
    )
    assert configured.code == 0, configured.output


def test_a_users_own_instance_lists_its_own_catalog(gateway: FakeAIGateway, tmp_path: Path) -> None:
    own = Instance("alice-client", "alice-Secr3t", [CATALOG[2]])  # only the anthropic family
    with FakeCatalog(client_secret=SECRET, instances={"alice-inst": own}) as catalog:
        env = env_for(gateway, catalog.template, tmp_path, IDEAFORGE_ALLOW_PRIVATE_BASE_URLS="true")
        configure_user(
            env, tmp_path, "alice", "--client-id", "alice-client", "--instance-id", "alice-inst", "--env", "dev",
            "--region", "us", secret="alice-Secr3t",
        )  # fmt: skip
        table = run_cli("models", "--catalog", "--user", "alice", env=env, cwd=tmp_path)
        assert table.code == 0, table.output
        assert [line.split()[1] for line in table.stdout.splitlines()[1:]] == ["claude-sonnet-4-5-20250929"]
        as_json = run_cli("models", "--catalog", "--user", "alice", "--json", env=env, cwd=tmp_path)
        assert [m["model"] for m in json.loads(as_json.stdout)] == ["claude-sonnet-4-5-20250929"]
        operators = run_cli("models", "--catalog", env=env, cwd=tmp_path)
        assert "gpt-4o" in operators.stdout
        assert catalog.state.seen == [("us.dev", "alice-inst"), ("us.dev", "alice-inst"), ("prod", INSTANCE)]
        assert "alice-Secr3t" not in table.output + as_json.output


def test_a_users_own_base_url_without_an_instance_has_no_catalog(
    gateway: FakeAIGateway, catalog: FakeCatalog, tmp_path: Path
) -> None:
    env = env_for(gateway, catalog.template, tmp_path, IDEAFORGE_ALLOW_PRIVATE_BASE_URLS="true")
    configure_user(env, tmp_path, "bob", "--client-id", "bob-client", "--base-url", gateway.url, secret="bob-s3cret")
    for form in ((), ("--json",)):
        result = run_cli("models", "--catalog", "--user", "bob", *form, env=env, cwd=tmp_path)
        assert result.code == 1 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert "not an instance id" in result.stderr
    assert catalog.state.requests == 0
