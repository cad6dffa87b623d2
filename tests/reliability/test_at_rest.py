"""At rest, through the running app: a swapped ciphertext, a lost key and a wrong key each make the
affected credentials "needs reconfiguration" (in the API, `/v1` and the CLI), never a crash and never
silence; other users and providers keep working. (The store-level proofs, rotation included, are in
tests/integration/store.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from devkit.report import Report, Section
from ideaforge_gateway.adapters.crypto.aesgcm_cipher import KeyRing
from tests.support.app import container_for
from tests.support.cli import run_cli
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer

K1 = KeyRing.generate_entry("k1")
K1_OTHER_BYTES = KeyRing.generate_entry("k1")
K2 = KeyRing.generate_entry("k2")
GOOD_KEY = "sk-at-rest"
INTRO = (
    "Alice and Bob each store an OpenAI key through the API; the store is then changed and the app "
    "restarted. Each row is what the app and the CLI say afterwards."
)


@dataclass
class Users:
    alice: str
    bob: str


@pytest.fixture
def openai() -> Iterator[FakeAIGateway]:
    with FakeAIGateway(api_key=GOOD_KEY) as server:
        yield server


def app_settings(openai: FakeAIGateway, keys: str) -> dict[str, object]:
    return {
        "openai_base_url": f"{openai.url}/v1",
        "ideaforge_encryption_keys": keys,
        "ideaforge_allow_private_base_urls": True,
        "ideaforge_deadline_seconds": 5.0,
    }


@pytest.fixture
def stored(tmp_path: Path, openai: FakeAIGateway) -> Users:
    with LiveServer(container_for(tmp_path, **app_settings(openai, K1))) as server:
        users = Users(server.create_user("alice"), server.create_user("bob"))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for token, body in (
                (users.alice, {"openaiApiKey": GOOD_KEY}),
                (users.bob, {"openaiApiKey": GOOD_KEY}),
            ):
                answer = client.post(
                    "/api/providers/configure", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                assert answer.status_code == 200, answer.text
    return users


@pytest.fixture
def table(report: Report) -> Section:
    return report.section(
        "at-rest",
        "At rest: tampering and lost keys, through the app",
        INTRO,
        ["change", "whose", "GET /api/providers", "POST /v1/chat/completions", "CLI `providers list`", "ok"],
    )


def swap_openai_ciphertexts(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'ideaforge.db'}")
    with engine.begin() as connection:
        rows = connection.execute(
            text("SELECT id, api_key_encrypted FROM user_api_keys WHERE provider = 'openai' ORDER BY id")
        ).all()
        (first, first_value), (second, second_value) = rows
        for row_id, value in ((first, second_value), (second, first_value)):
            connection.execute(
                text("UPDATE user_api_keys SET api_key_encrypted = :v WHERE id = :i"), {"v": value, "i": row_id}
            )
    engine.dispose()


def observe(
    tmp_path: Path, openai: FakeAIGateway, keys: str, token: str, name: str, *, cli: bool = True
) -> tuple[dict, int, str, str]:  # type: ignore[type-arg]
    # A lost or wrong key stops the start (test_a_lost_or_wrong_key_stops_the_start); here the
    # operator has accepted the loss, and what each user then sees is observed.
    accept = {"ideaforge_accept_unreadable_credentials": True}
    with (
        LiveServer(container_for(tmp_path, **app_settings(openai, keys), **accept)) as server,
        httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        statuses = {p["provider"]: p for p in client.get("/api/providers").json()}
        chat = client.post(
            "/v1/chat/completions", json={"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
        )
    if not cli:
        return statuses, chat.status_code, chat.text, "openai\t-"
    listed = run_cli(
        "providers",
        "list",
        "--user",
        name,
        env={
            "IDEAFORGE_DATA_DIR": str(tmp_path / "data"),
            "IDEAFORGE_ENCRYPTION_KEYS": keys,
            "IDEAFORGE_ACCEPT_UNREADABLE_CREDENTIALS": "true",
        },
        cwd=tmp_path,
    )
    assert listed.code == 0 and "Traceback" not in listed.output, listed.output
    openai_line = next(line for line in listed.stdout.splitlines() if line.startswith("openai"))
    return statuses, chat.status_code, chat.text, openai_line


CHANGES = {
    "OpenAI ciphertexts of Alice and Bob swapped": ("swap", K1, False),
    "key lost (only a new key k2 configured)": ("none", K2, True),
    "wrong key (k1 with other bytes)": ("none", K1_OTHER_BYTES, False),
    "old key kept after the new one (k2,k1)": ("none", f"{K2},{K1}", False),
}
"""What changes, the keys the app restarts with, and whether the CLI is asked too (a process each)."""


@pytest.mark.parametrize("change", list(CHANGES))
def test_unreadable_credentials_need_reconfiguration_everywhere(
    tmp_path: Path, openai: FakeAIGateway, stored: Users, table: Section, change: str
) -> None:
    action, keys, with_cli = CHANGES[change]
    if action == "swap":
        swap_openai_ciphertexts(tmp_path)
    readable = action != "swap" and keys.endswith(K1)
    for name in ("alice",):
        token = getattr(stored, name)
        statuses, chat_status, chat_text, cli_line = observe(tmp_path, openai, keys, token, name, cli=with_cli)
        mine = statuses["openai"]
        api_text = "needs reconfiguration" if mine["needs_reconfiguration"] else ("usable" if mine["usable"] else "?")
        chat_summary = f"{chat_status}" + (f" {json.loads(chat_text)['error']['code']}" if chat_status != 200 else "")
        cli_state = cli_line.split("\t")[1]
        expected_state = "usable" if readable else "needs reconfiguration"
        ok = api_text == expected_state and cli_state in (expected_state, "-")
        ok = ok and (chat_status == 200 if readable else chat_status == 409)
        table.add(change, name, api_text, chat_summary, cli_state, "✓" if ok else "✗")
        assert api_text == expected_state, mine
        assert cli_state in (expected_state, "-"), cli_line
        if readable:
            assert chat_status == 200, chat_text
            continue
        assert mine["problem"] and "configure the provider again" in mine["problem"], mine
        assert chat_status == 409, chat_text  # a clear refusal, not a 500, and no other provider's key used
        assert openai.state.chat_requests == 0


def test_generation_says_why_when_the_stored_credentials_are_unreadable(
    tmp_path: Path, openai: FakeAIGateway, stored: Users
) -> None:
    _, status, body, _ = observe(tmp_path, openai, K2, stored.bob, "bob", cli=False)
    assert status == 409
    assert "reconfigur" in json.loads(body)["error"]["message"], body
