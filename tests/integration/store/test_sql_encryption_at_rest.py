"""What an attacker with the database, or a careless operator, can and cannot do."""

from __future__ import annotations

import json
import uuid

from pydantic import SecretStr
from sqlalchemy import Engine, text

from ideaforge_gateway.adapters.crypto import AesGcmCipher, KeyRing
from ideaforge_gateway.adapters.sql import SqlModelCredentialStore, SqlModelUserStore
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName
from tests.integration.store.conftest import KEY_K1, KEY_K2, Database


def gateway(client_id: str, client_secret: str) -> ProviderCredentials:
    return ProviderCredentials(
        provider=ProviderName.AI_GATEWAY,
        api_key=SecretStr(client_id),
        client_secret=SecretStr(client_secret),
        base_url="https://gateway.example.test",
    )


def raw_row(engine: Engine, user_id: str, provider: str) -> tuple[str, dict[str, object]]:
    with engine.connect() as connection:
        api_key, meta = connection.execute(
            text("SELECT api_key_encrypted, metadata FROM user_api_keys WHERE user_id = :u AND provider = :p"),
            {"u": user_id, "p": provider},
        ).one()
    return api_key, meta if isinstance(meta, dict) else json.loads(meta)


def write_raw(engine: Engine, user_id: str, provider: str, api_key: str, meta: dict[str, object]) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE user_api_keys SET api_key_encrypted = :k, metadata = :m WHERE user_id = :u AND provider = :p"),
            {"k": api_key, "m": json.dumps(meta), "u": user_id, "p": provider},
        )


def test_secrets_are_nowhere_in_the_database_files(
    database: Database, store: SqlModelCredentialStore, users: SqlModelUserStore, engine: Engine
) -> None:
    client_id, client_secret = f"cid-{uuid.uuid4().hex}", f"secret-{uuid.uuid4().hex}"
    api_key = f"sk-{uuid.uuid4().hex}"
    alice = users.create("alice")[0].id
    store.save(alice, gateway(client_id, client_secret))
    store.save(alice, ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr(api_key)))
    canaries = [value.encode() for value in (client_id, client_secret, api_key)]

    with engine.connect() as connection:
        dump = repr(connection.execute(text("SELECT * FROM user_api_keys")).all()).encode()
    assert b"gateway.example.test" in dump, "the dump sees plain settings, so it would see secrets"
    assert not [c for c in canaries if c in dump]

    files = database.data_files()
    if database.backend == "sqlite" or (database.server is not None and database.server.data_dir is not None):
        assert files, "the test must see the files it checks"
        found_plain_setting = False
        for path in files:
            content = path.read_bytes()
            found_plain_setting |= b"gateway.example.test" in content
            assert not [c for c in canaries if c in content], f"a secret is readable in {path.name}"
        assert found_plain_setting, "the files inspected do hold the rows"


def test_a_value_moved_to_another_users_row_does_not_decrypt(
    store: SqlModelCredentialStore, users: SqlModelUserStore, engine: Engine
) -> None:
    alice, bob, carol = (users.create(name)[0].id for name in ("alice", "bob", "carol"))
    for who in (alice, bob, carol):
        store.save(who, gateway(f"id-{who}", f"secret-{who}"))
        store.save(who, ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr(f"sk-{who}")))
    alice_key, alice_meta = raw_row(engine, alice, "ai_gateway")
    _, bob_meta = raw_row(engine, bob, "ai_gateway")
    carol_key, carol_meta = raw_row(engine, carol, "ai_gateway")

    write_raw(engine, bob, "ai_gateway", alice_key, bob_meta)  # Alice's client id into Bob's row
    write_raw(engine, carol, "ai_gateway", carol_key, {**carol_meta, "client_secret": alice_meta["client_secret"]})

    for victim in (bob, carol):
        stored = store.get(victim, ProviderName.AI_GATEWAY)
        assert stored is not None and stored.credentials is None and stored.needs_reconfiguration
        assert stored.unreadable_reason is not None
        assert stored.unreadable_reason.startswith("stored credentials for ai_gateway cannot be decrypted (")
        assert stored.unreadable_reason.endswith("): configure the provider again")
        assert "secret-" not in stored.unreadable_reason and "id-" not in stored.unreadable_reason
        other = store.get(victim, ProviderName.OPENAI)
        assert other is not None and other.credentials is not None, "the victim's other providers still work"
    readable = store.get(alice, ProviderName.AI_GATEWAY)
    assert readable is not None and readable.credentials == gateway(f"id-{alice}", f"secret-{alice}")
    assert [c.provider for c in store.list(bob)] == [ProviderName.AI_GATEWAY, ProviderName.OPENAI]


def test_a_value_moved_to_another_field_or_provider_does_not_decrypt(
    store: SqlModelCredentialStore, users: SqlModelUserStore, engine: Engine
) -> None:
    alice = users.create("alice")[0].id
    store.save(alice, gateway("id-a", "secret-a"))
    store.save(alice, ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr("sk-a")))
    store.save(alice, ProviderCredentials(provider=ProviderName.ANTHROPIC, api_key=SecretStr("ak-a")))
    _, meta = raw_row(engine, alice, "ai_gateway")
    openai_key, openai_meta = raw_row(engine, alice, "openai")

    write_raw(engine, alice, "ai_gateway", str(meta["client_secret"]), meta)  # secret as the client id
    write_raw(engine, alice, "anthropic", openai_key, openai_meta)  # OpenAI's key as Anthropic's

    for provider in (ProviderName.AI_GATEWAY, ProviderName.ANTHROPIC):
        stored = store.get(alice, provider)
        assert stored is not None and stored.credentials is None
        assert stored.unreadable_reason is not None and "does not belong" in stored.unreadable_reason


def test_a_tampered_value_or_setting_is_reported_not_raised(
    store: SqlModelCredentialStore, users: SqlModelUserStore, engine: Engine
) -> None:
    alice = users.create("alice")[0].id
    store.save(alice, gateway("id-a", "secret-a"))
    store.save(alice, ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr("sk-a")))
    key, meta = raw_row(engine, alice, "ai_gateway")
    flipped = key[:-5] + ("A" if key[-5] != "A" else "B") + key[-4:]
    write_raw(engine, alice, "ai_gateway", flipped, meta)
    openai_key, openai_meta = raw_row(engine, alice, "openai")
    write_raw(engine, alice, "openai", openai_key, {**openai_meta, "auth_method": "carrier-pigeon"})

    gateway_row, openai_row = store.list(alice)
    assert gateway_row.credentials is None and gateway_row.unreadable_reason is not None
    assert "altered" in gateway_row.unreadable_reason
    assert openai_row.credentials is None and openai_row.unreadable_reason is not None
    assert "invalid" in openai_row.unreadable_reason


def test_a_lost_key_means_reconfiguration_not_a_crash(
    database: Database, store: SqlModelCredentialStore, users: SqlModelUserStore
) -> None:
    alice, bob = users.create("alice")[0].id, users.create("bob")[0].id
    store.save(alice, gateway("id-a", "secret-a"))
    store.save(bob, ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr("sk-b")))
    without_k1 = SqlModelCredentialStore(database.engine(), AesGcmCipher(KeyRing.parse(KEY_K2)))

    stored = without_k1.get(alice, ProviderName.AI_GATEWAY)
    assert stored is not None and stored.needs_reconfiguration
    assert stored.unreadable_reason == (
        "stored credentials for ai_gateway cannot be decrypted (key 'k1' is not configured): "
        "configure the provider again"
    )
    assert [c.needs_reconfiguration for c in without_k1.list(bob)] == [True]

    without_k1.save(alice, gateway("id-a2", "secret-a2"))  # the user configures it again
    again = without_k1.get(alice, ProviderName.AI_GATEWAY)
    assert again is not None and again.credentials == gateway("id-a2", "secret-a2")
    both_keys = SqlModelCredentialStore(database.engine(), AesGcmCipher(KeyRing.parse(f"{KEY_K1},{KEY_K2}")))
    assert all(c.credentials is not None for c in [*both_keys.list(alice), *both_keys.list(bob)])
