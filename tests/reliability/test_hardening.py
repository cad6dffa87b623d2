"""Issue 18's cases, each probed once through the real app, the real CLI or the real policy, one
row each in `docs/reliability.md`'s "hardening" section. The detailed proofs are the tests named
in each row; here each case is shown failing closed, as an attacker or an unlucky operator would
meet it. Cases 1 and 3's first half (upstream body caps, per-host and per-user bounds on users'
base URLs) belong to the transport and are not probed here."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.report import Report, Section
from ideaforge_gateway.adapters.crypto.aesgcm_cipher import KeyRing
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import ConfigurationError, GatewayError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ChatMessage, ProviderName
from ideaforge_gateway.domain.policies.base_url import is_public_address
from ideaforge_gateway.domain.policies.fallback import RetryPolicy
from ideaforge_gateway.domain.vendor_codes import WITHHELD
from tests.support.app import container_for
from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer
from tests.unit.test_fallback_properties import build_world

KEY = "sk-hardening"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def table(report: Report) -> Section:
    return report.section(
        "hardening",
        "Hardening: secrets that stay where they were put, bounded streams, loud key loss (issue 18)",
        "One probe per case through the real app or CLI; the detailed tests are named in each row.",
        ["case", "probe", "observed", "proved in detail by", "ok"],
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, FakeAIGateway]]:
    with FakeAIGateway(api_key=KEY, client_id="cid", client_secret="csecret") as upstream:
        container = container_for(
            Path(tmp_path_factory.mktemp("hardening")),
            openai_api_key=KEY + "\n",  # case 6: a trailing newline, as .env files and mounts add
            openai_base_url=f"{upstream.url}/v1",
            ideaforge_allow_private_base_urls=True,
            ideaforge_max_stream_bytes=2048,
        )
        with LiveServer(container) as server:
            yield server, upstream


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_case_2_a_stored_secret_does_not_follow_a_new_base_url(
    live: tuple[LiveServer, FakeAIGateway], table: Section
) -> None:
    server, upstream = live
    token = server.create_user("case2")
    configure = f"{server.url}/api/providers/configure"
    stored = httpx.post(
        configure,
        json={"aiGatewayClientId": "cid", "aiGatewayClientSecret": "csecret", "aiGatewayBaseUrl": upstream.url},
        headers=_auth(token),
    )
    moved = httpx.post(configure, json={"aiGatewayBaseUrl": "https://attacker.example.com"}, headers=_auth(token))
    ok = stored.status_code == 200 and moved.status_code == 400 and moved.json().get("param") == "aiGatewayClientSecret"
    table.add(
        "2 stored secret, new destination",
        "configure with only `aiGatewayBaseUrl` changed",
        f"{moved.status_code}: {moved.json()['error']}",
        "`tests/unit/test_credential_use_cases.py`, `tests/e2e/test_settings_page_browser.py`",
        "✓" if ok else "✗",
    )
    assert ok, moved.text


def test_case_4_a_deleted_key_file_stops_the_start(tmp_path: Path, table: Section) -> None:
    env = {"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}
    run_cli("users", "create", "alice", env=env, cwd=tmp_path)
    configured = run_cli(
        "providers", "configure", "openai", "--user", "alice", env=env, cwd=tmp_path, stdin="sk-case-4\n"
    )
    (tmp_path / "data" / "encryption.key").unlink()
    refused = run_cli("serve", "--port", "1", env=env, cwd=tmp_path)
    ok = configured.code == 0 and refused.code == 1 and "restore it" in refused.stderr
    ok = ok and not (tmp_path / "data" / "encryption.key").exists()
    table.add(
        "4 lost key file",
        "delete `encryption.key` beside a stored credential, then `ideaforge serve`",
        f"exit {refused.code}: {refused.stderr.strip().replace(str(tmp_path), '$TMP')}",
        "`tests/integration/store/test_key_checks.py`",
        "✓" if ok else "✗",
    )
    assert ok, refused.output


def test_case_4_a_wrong_key_names_the_key_ids(tmp_path: Path, table: Section) -> None:
    right, wrong = KeyRing.generate_entry("k20260101-aaaa"), KeyRing.generate_entry("k20260101-aaaa")
    with LiveServer(container_for(tmp_path, ideaforge_encryption_keys=right)) as server:
        token = server.create_user("alice")
        httpx.post(f"{server.url}/api/providers/configure", json={"openaiApiKey": "sk-4"}, headers=_auth(token))
    container = container_for(tmp_path, ideaforge_encryption_keys=wrong)
    message = ""
    try:
        container.engine()
    except ConfigurationError as exc:
        message = exc.message
    finally:
        container.shutdown_resources()
    ok = "k20260101-aaaa (1)" in message and "does not decrypt" in message
    table.add(
        "4 wrong key", "restart with other bytes under the same key id", message,
        "`tests/integration/store/test_key_checks.py`", "✓" if ok else "✗",
    )  # fmt: skip
    assert ok, message


def test_case_5_a_crlf_model_id_reaches_no_upstream(live: tuple[LiveServer, FakeAIGateway], table: Section) -> None:
    server, upstream = live
    token = server.create_user("case5")
    before = upstream.state.chat_requests
    answer = httpx.post(
        f"{server.url}/v1/chat/completions", json={**CHAT, "model": "gpt-4o\r\nX-Injected: 1"}, headers=_auth(token)
    )
    ok = answer.status_code == 400 and answer.json()["error"].get("param") == "model"
    ok = ok and upstream.state.chat_requests == before
    table.add(
        "5 model ids", "`/v1/chat/completions` with model `gpt-4o\\r\\nX-Injected: 1`",
        f"{answer.status_code}, param `model`, {upstream.state.chat_requests - before} upstream calls",
        "`tests/integration/http/test_model_ids.py`", "✓" if ok else "✗",
    )  # fmt: skip
    assert ok, answer.text


def test_case_6_an_operator_key_with_a_trailing_newline_works(
    live: tuple[LiveServer, FakeAIGateway], table: Section
) -> None:
    server, _ = live
    token = server.create_user("case6")
    answer = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=_auth(token))
    ok = answer.status_code == 200
    table.add(
        "6 operator secret with `\\n`", "`OPENAI_API_KEY` ending in a newline, then `/v1/chat/completions`",
        f"{answer.status_code}", "`tests/integration/http/test_header_values.py`", "✓" if ok else "✗",
    )  # fmt: skip
    assert ok, answer.text


def test_case_7_an_echoed_credential_is_withheld(table: Section) -> None:
    error = ProviderUnavailableError(
        "OpenAI could not answer chat completion (HTTP 500) (my_secret_key)", provider=ProviderName.OPENAI
    )
    ok = "my_secret_key" not in error.message and WITHHELD in error.message
    table.add(
        "7 secret-shaped vendor code", "an upstream answering with a credential as its error code",
        error.message, "`tests/integration/http/test_vendor_codes.py`", "✓" if ok else "✗",
    )  # fmt: skip
    assert ok


def test_case_8_failed_sign_ins_are_limited(tmp_path: Path, table: Section) -> None:
    # A server of its own: the limit applies per address, and every probe here comes from loopback.
    with LiveServer(container_for(tmp_path, ideaforge_sign_in_failures_per_minute=5)) as server:
        statuses = [
            httpx.get(f"{server.url}/api/providers", headers=_auth(f"ifg_guess-{i}")).status_code for i in range(6)
        ]
    ok = statuses[:5] == [401] * 5 and statuses[5] == 429
    table.add(
        "8 failed sign-ins", "6 wrong tokens from one address (limit 5 a minute)", " ".join(map(str, statuses)),
        "`tests/integration/http/test_sign_in_limits.py`", "✓" if ok else "✗",
    )  # fmt: skip
    assert ok, statuses


@pytest.mark.parametrize("address", ["::ffff:127.0.0.1", "::127.0.0.1", "2002:7f00:1::", "64:ff9b::7f00:1"])
def test_case_9_ipv6_forms_of_loopback_are_refused(address: str, table: Section) -> None:
    ok = not is_public_address(ipaddress.ip_address(address))
    table.add(
        "9 IPv6 carrying IPv4", f"`{address}`", "not public" if ok else "public",
        "`tests/unit/test_base_url_policy.py`", "✓" if ok else "✗",
    )  # fmt: skip
    assert ok


def test_case_10_a_stream_ends_at_its_maximum_size(live: tuple[LiveServer, FakeAIGateway], table: Section) -> None:
    server, upstream = live
    token = server.create_user("case10")
    prompt = " ".join(f"word{i}" for i in range(400))
    body = {**CHAT, "stream": True, "messages": [{"role": "user", "content": prompt}]}
    answer = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=_auth(token), timeout=30)
    ended = "maximum size of 2048 bytes" in answer.text and "[DONE]" not in answer.text
    table.add(
        "10 stream bounds", "a stream longer than `IDEAFORGE_MAX_STREAM_BYTES=2048`",
        f"{len(answer.content)} bytes, then an error event", "`tests/integration/http/test_stream_bounds.py`",
        "✓" if ended else "✗",
    )  # fmt: skip
    assert upstream.state.chat_requests > 0
    assert ended, answer.text


def test_case_11_an_api_key_on_the_command_line_warns(tmp_path: Path, table: Section) -> None:
    env = {"IDEAFORGE_DATA_DIR": str(tmp_path / "data")}
    run_cli("users", "create", "alice", env=env, cwd=tmp_path)
    done = run_cli("providers", "configure", "openai", "--user", "alice", "--api-key", "sk-11", env=env, cwd=tmp_path)
    ok = done.code == 0 and "process list" in done.stderr
    table.add(
        "11 `--api-key`", "`providers configure openai --api-key KEY`", done.stderr.strip().splitlines()[0],
        "`tests/e2e/test_cli_credentials.py`", "✓" if ok else "✗",
    )  # fmt: skip
    assert ok, done.output


async def test_case_3_breakers_are_per_user_for_shared_credentials(table: Section) -> None:
    policy = RetryPolicy(attempts_per_provider=1, deadline=10.0)
    world = build_world({ProviderName.OPENAI}, False, list(ProviderName), {}, policy)
    world.scripts[ProviderName.OPENAI].outcomes[:] = ["unavailable"] * 3  # the breaker's threshold
    for _ in range(3):
        with pytest.raises(GatewayError):
            await world.reply.execute(GenerateRequest(messages=[ChatMessage("user", "x")], user_id="mallory"))
    answered = await world.reply.execute(GenerateRequest(messages=[ChatMessage("user", "x")], user_id="alice"))
    outcomes = [a.outcome for a in answered.attempts]
    ok = outcomes == ["ok"]
    table.add(
        "3 shared breaker", "3 failing requests by one user against the environment's OpenAI key (threshold 3)",
        f"another user's next request: {', '.join(outcomes)}", "`tests/unit/test_fallback_properties.py`",
        "✓" if ok else "✗",
    )  # fmt: skip
    assert ok, outcomes
