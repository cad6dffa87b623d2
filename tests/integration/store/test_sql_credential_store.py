"""SqlModelCredentialStore on SQLite and PostgreSQL: round trips, isolation, revision, atomic upsert."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from ideaforge_gateway.adapters.crypto import AesGcmCipher
from ideaforge_gateway.adapters.sql import SqlModelCredentialStore, SqlModelUserStore
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials, Verification
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.credential_store import CredentialStore
from tests.integration.store.conftest import Database

GATEWAY = ProviderCredentials(
    provider=ProviderName.AI_GATEWAY,
    api_key=SecretStr("client-id-canary"),
    client_secret=SecretStr("client-secret-canary"),
    base_url="https://gateway.example.test",
    default_model="gpt-4o",
    token_url="https://gateway.example.test/oauth/token",
    auth_method=AuthMethod.CLIENT_SECRET_POST,
    scope="models.read chat",
    audience="ai-gateway",
    instance_id="5567f85f-ea56-48e8-9603-59c23ece68f3",
    env="dev",
    region="eu",
    route_template="https://{family}.{region.}{env}.gateway.example.test/{instance_id}",
)


def openai(key: str) -> ProviderCredentials:
    return ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr(key))


def user_id(users: SqlModelUserStore, name: str) -> str:
    return users.create(name)[0].id


def test_it_is_a_credential_store(store: SqlModelCredentialStore) -> None:
    assert isinstance(store, CredentialStore)


def test_every_field_round_trips(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice = user_id(users, "alice")
    before = datetime.now(UTC)

    saved = store.save(alice, GATEWAY)
    loaded = store.get(alice, ProviderName.AI_GATEWAY)

    assert loaded is not None
    assert loaded.credentials == GATEWAY
    assert loaded.credentials.client_secret is not None
    assert loaded.credentials.client_secret.get_secret_value() == "client-secret-canary"
    assert (loaded.user_id, loaded.provider, loaded.enabled) == (alice, ProviderName.AI_GATEWAY, True)
    assert loaded.unreadable_reason is None and loaded.verification is None
    assert loaded.updated_at is not None and loaded.updated_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= loaded.updated_at <= datetime.now(UTC)
    assert saved.credentials == GATEWAY and saved.enabled


def test_unset_settings_stay_unset(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice = user_id(users, "alice")
    store.save(alice, openai("sk-only"), enabled=False)

    loaded = store.get(alice, ProviderName.OPENAI)

    assert loaded is not None and loaded.credentials == openai("sk-only")
    assert not loaded.enabled


def test_save_replaces_the_whole_credential_in_one_row(
    store: SqlModelCredentialStore, users: SqlModelUserStore, engine: Engine
) -> None:
    alice = user_id(users, "alice")
    store.save(alice, GATEWAY)
    store.record_verification(alice, ProviderName.AI_GATEWAY, Verification(ok=True, at=datetime.now(UTC)))
    replacement = ProviderCredentials(provider=ProviderName.AI_GATEWAY, api_key=SecretStr("new-id"))

    store.save(alice, replacement)

    loaded = store.get(alice, ProviderName.AI_GATEWAY)
    assert loaded is not None and loaded.credentials == replacement
    assert loaded.verification is None, "a verification of the old credentials must not carry over"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM user_api_keys")).scalar_one() == 1


def test_get_and_list_for_nothing_stored(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice = user_id(users, "alice")
    assert store.get(alice, ProviderName.GEMINI) is None
    assert list(store.list(alice)) == []
    assert list(store.list("no-such-user")) == []


def test_list_is_in_provider_order(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice = user_id(users, "alice")
    for provider in (ProviderName.GEMINI, ProviderName.ANTHROPIC, ProviderName.OPENAI, ProviderName.AI_GATEWAY):
        store.save(alice, ProviderCredentials(provider=provider, api_key=SecretStr(f"{provider}-key")))

    assert [c.provider for c in store.list(alice)] == list(ProviderName)


def test_two_users_never_mix(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice, bob = user_id(users, "alice"), user_id(users, "bob")
    store.save(alice, openai("sk-alice"))
    store.save(bob, openai("sk-bob"))
    store.save(bob, GATEWAY)

    alice_keys = store.list(alice)
    assert [(c.user_id, c.credentials) for c in alice_keys] == [(alice, openai("sk-alice"))]
    bob_openai = store.get(bob, ProviderName.OPENAI)
    assert bob_openai is not None and bob_openai.credentials == openai("sk-bob")
    assert store.get(alice, ProviderName.AI_GATEWAY) is None

    assert store.delete(alice, ProviderName.OPENAI)
    assert store.get(bob, ProviderName.OPENAI) is not None


def test_save_for_an_unknown_user_is_refused(store: SqlModelCredentialStore) -> None:
    with pytest.raises(InvalidRequestError, match="no user"):
        store.save("0" * 32, openai("sk-x"))


def test_enable_disable_and_delete(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice = user_id(users, "alice")
    store.save(alice, GATEWAY)

    assert store.set_enabled(alice, ProviderName.AI_GATEWAY, False)
    loaded = store.get(alice, ProviderName.AI_GATEWAY)
    assert loaded is not None and not loaded.enabled and loaded.credentials == GATEWAY
    assert store.set_enabled(alice, ProviderName.AI_GATEWAY, True)
    loaded = store.get(alice, ProviderName.AI_GATEWAY)
    assert loaded is not None and loaded.enabled

    assert not store.set_enabled(alice, ProviderName.GEMINI, False)
    assert store.delete(alice, ProviderName.AI_GATEWAY)
    assert not store.delete(alice, ProviderName.AI_GATEWAY)
    assert store.get(alice, ProviderName.AI_GATEWAY) is None


def test_record_verification(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice = user_id(users, "alice")
    store.save(alice, openai("sk-alice"))
    at = datetime(2025, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)

    store.record_verification(alice, ProviderName.OPENAI, Verification(ok=False, at=at, error="x" * 5000))

    loaded = store.get(alice, ProviderName.OPENAI)
    assert loaded is not None and loaded.verification is not None
    assert loaded.verification.ok is False and loaded.verification.at == at
    assert loaded.verification.error is not None and 0 < len(loaded.verification.error) <= 1000

    before = store.revision()
    store.record_verification(alice, ProviderName.OPENAI, Verification(ok=True, at=at))
    assert store.revision() > before  # other processes refresh the status they show
    loaded = store.get(alice, ProviderName.OPENAI)
    assert loaded is not None and loaded.verification == Verification(ok=True, at=at, error=None)

    store.record_verification(alice, ProviderName.GEMINI, Verification(ok=True, at=at))  # nothing stored: no-op
    assert store.get(alice, ProviderName.GEMINI) is None


def test_revision_changes_are_seen_by_another_process(
    database: Database, store: SqlModelCredentialStore, users: SqlModelUserStore, cipher: AesGcmCipher
) -> None:
    other = SqlModelCredentialStore(database.engine(), cipher)  # its own pool, as another process has
    alice = user_id(users, "alice")
    seen = [other.revision()]

    def changed() -> bool:
        seen.append(other.revision())
        return seen[-1] != seen[-2]

    store.save(alice, openai("sk-1"))
    assert changed()
    store.save(alice, openai("sk-2"))
    assert changed()
    store.set_enabled(alice, ProviderName.OPENAI, False)
    assert changed()
    store.set_enabled(alice, ProviderName.OPENAI, False)
    assert not changed(), "nothing changed"
    store.record_verification(alice, ProviderName.OPENAI, Verification(ok=True, at=datetime.now(UTC)))
    assert changed(), "a new verification result is news to other processes' cached statuses"
    store.delete(alice, ProviderName.OPENAI)
    assert changed()
    store.delete(alice, ProviderName.OPENAI)
    assert not changed()
    assert seen == sorted(seen), "the revision only grows"


def test_concurrent_first_saves_make_one_row(
    database: Database, users: SqlModelUserStore, cipher: AesGcmCipher
) -> None:
    alice = user_id(users, "alice")
    stores = [SqlModelCredentialStore(database.engine(), cipher) for _ in range(4)]

    def save(n: int) -> None:
        stores[n % 4].save(alice, openai(f"sk-{n}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(save, range(24)))

    stored = stores[0].list(alice)
    assert len(stored) == 1 and stored[0].credentials is not None
    assert stored[0].credentials.api_key.get_secret_value().startswith("sk-")


def test_nothing_secret_in_reprs(store: SqlModelCredentialStore, users: SqlModelUserStore) -> None:
    alice = user_id(users, "alice")
    store.save(alice, GATEWAY)
    shown = repr(store.get(alice, ProviderName.AI_GATEWAY)) + repr(store) + repr(store.list(alice))
    assert "canary" not in shown
