"""The provider registry's rules, with fakes: whose credentials a user gets, and client reuse."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.config import GatewayConfig, ProviderDefaults, TierModels
from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential, User
from ideaforge_gateway.domain.errors import ConfigurationError, CredentialUnreadableError, UnknownUserError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.user_store import UserStore
from tests.unit.fakes import FakeCredentialStore, FakeProviderFactory

GW = ProviderName.AI_GATEWAY
TIERS = TierModels("f", "s", "p")


def creds(provider: ProviderName, key: str, **kw: object) -> ProviderCredentials:
    secret = SecretStr(f"{key}-secret") if provider is GW else None
    return ProviderCredentials(provider, api_key=SecretStr(key), client_secret=secret, **kw)  # type: ignore[arg-type]


def config(gateway_enabled: bool = True, **env: str) -> GatewayConfig:
    providers = {}
    for p in ProviderName:
        key = env.get(p.value)
        providers[p] = ProviderDefaults(
            p, TIERS, credentials=creds(p, key) if key else None, enabled=gateway_enabled if p is GW else True
        )
    return GatewayConfig(providers=providers)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def registry(cfg: GatewayConfig, store: FakeCredentialStore | None = None, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    factory = FakeProviderFactory()
    return ProviderRegistry(cfg, factory, store, clock=clock or Clock()), factory


def test_the_environment_gateway_needs_ai_gateway_enabled() -> None:
    reg, _ = registry(config(gateway_enabled=False, ai_gateway="env-id"))
    assert not reg.has_ai_gateway()
    with pytest.raises(ConfigurationError, match="AI_GATEWAY_ENABLED"):
        reg.get_ai_gateway_client()
    reg, _ = registry(config(gateway_enabled=True, ai_gateway="env-id"))
    assert reg.has_ai_gateway()


def test_a_users_gateway_counts_even_when_the_environment_disables_its_own() -> None:
    store = FakeCredentialStore()
    store.save("alice", creds(GW, "alice-id"))
    reg, _ = registry(config(gateway_enabled=False, ai_gateway="env-id"), store)
    assert reg.has_ai_gateway("alice")
    assert not reg.has_ai_gateway("bob")
    assert not reg.has_ai_gateway()


def test_a_users_settings_override_the_environment_only_for_them() -> None:
    store = FakeCredentialStore()
    store.save("alice", creds(ProviderName.OPENAI, "alice-key"))
    reg, _ = registry(config(openai="env-key"), store)

    alice = reg.resolve(ProviderName.OPENAI, "alice")
    bob = reg.resolve(ProviderName.OPENAI, "bob")
    assert alice is not None and alice.source == "user" and alice.credentials.api_key.get_secret_value() == "alice-key"
    assert bob is not None and bob.source == "environment" and bob.credentials.api_key.get_secret_value() == "env-key"


def test_usable_follows_the_priority_order() -> None:
    store = FakeCredentialStore()
    store.save("alice", creds(ProviderName.ANTHROPIC, "a"))
    store.save("alice", creds(GW, "g"))
    reg, _ = registry(config(gateway_enabled=False, openai="o", gemini="m"), store)
    assert [r.provider for r in reg.usable("alice")] == [
        GW,
        ProviderName.OPENAI,
        ProviderName.GEMINI,
        ProviderName.ANTHROPIC,
    ]
    assert [r.provider for r in reg.usable(None)] == [ProviderName.OPENAI, ProviderName.GEMINI]


def test_a_disabled_user_provider_is_not_used_not_even_with_environment_credentials() -> None:
    store = FakeCredentialStore()
    store.save("alice", creds(ProviderName.OPENAI, "alice-key"), enabled=False)
    reg, _ = registry(config(openai="env-key"), store)
    assert reg.resolve(ProviderName.OPENAI, "alice") is None
    with pytest.raises(ConfigurationError, match="disabled"):
        reg.require(ProviderName.OPENAI, "alice")


def test_an_unreadable_credential_says_so_and_is_not_replaced_by_the_environment() -> None:
    store = FakeCredentialStore()
    store.save("alice", creds(ProviderName.OPENAI, "alice-key"))
    store.break_row("alice", ProviderName.OPENAI, "key 'k0' is not configured: configure openai again")
    reg, _ = registry(config(openai="env-key"), store)
    assert reg.resolve(ProviderName.OPENAI, "alice") is None
    with pytest.raises(CredentialUnreadableError, match="configure openai again"):
        reg.require(ProviderName.OPENAI, "alice")


def test_clients_are_shared_per_credential_and_rebuilt_when_it_changes() -> None:
    clock = Clock()
    store = FakeCredentialStore()
    store.save("alice", creds(ProviderName.OPENAI, "k1"))
    store.save("bob", creds(ProviderName.OPENAI, "k1"))
    reg, factory = registry(config(), store, clock)

    a = reg.client(reg.require(ProviderName.OPENAI, "alice"))
    b = reg.client(reg.require(ProviderName.OPENAI, "bob"))
    assert a is b and len(factory.built) == 1

    store.save("alice", creds(ProviderName.OPENAI, "k2"))  # as if another process changed it
    assert reg.client(reg.require(ProviderName.OPENAI, "alice")) is a  # not yet seen: within the interval
    clock.now += 1.0
    changed = reg.client(reg.require(ProviderName.OPENAI, "alice"))
    assert changed is not a and len(factory.built) == 2
    assert reg.client(reg.require(ProviderName.OPENAI, "bob")) is a  # bob's credentials did not change


def test_the_store_is_not_read_on_every_request() -> None:
    clock = Clock()
    store = FakeCredentialStore()
    store.save("alice", creds(ProviderName.OPENAI, "k1"))
    reg, _ = registry(config(), store, clock)
    for _ in range(100):
        reg.resolve(ProviderName.OPENAI, "alice")
    assert store.list_calls == 1


def test_a_client_whose_credentials_are_gone_is_dropped() -> None:
    clock = Clock()
    store = FakeCredentialStore()
    store.save("alice", creds(ProviderName.OPENAI, "k1"))
    reg, factory = registry(config(), store, clock)
    first = reg.client(reg.require(ProviderName.OPENAI, "alice"))
    store.delete("alice", ProviderName.OPENAI)
    store.save("alice", creds(ProviderName.OPENAI, "k1"))
    clock.now += 1
    reg.forget_user("alice")
    assert reg.client(reg.require(ProviderName.OPENAI, "alice")) is not first
    assert len(factory.built) == 2


class ThreadRecordingStore(FakeCredentialStore):
    """Notes the thread of every read, to show which ones an event loop would have waited on."""

    def __init__(self) -> None:
        super().__init__()
        self.read_threads: list[int] = []

    def list(self, user_id: str) -> Sequence[StoredCredential]:
        self.read_threads.append(threading.get_ident())
        return super().list(user_id)

    def revision(self) -> int:
        self.read_threads.append(threading.get_ident())
        return super().revision()


async def test_async_callers_load_off_the_event_loop_then_resolve_from_the_cache() -> None:
    store = ThreadRecordingStore()
    store.save("alice", creds(ProviderName.OPENAI, "alice-key"))
    clock = Clock()
    reg, _ = registry(config(), store, clock)
    assert not reg.loaded("alice") and reg.loaded(None)

    await reg.load("alice")
    assert store.read_threads and threading.get_ident() not in store.read_threads
    reads = len(store.read_threads)
    assert reg.loaded("alice")
    assert [r.source for r in reg.usable("alice")] == ["user"]
    await reg.load("alice")
    assert len(store.read_threads) == reads  # cached: no store I/O at all

    clock.now += 1.0  # the revision is due for a check again: that is I/O, so it goes to a thread too
    assert not reg.loaded("alice")
    await reg.load("alice")
    assert threading.get_ident() not in store.read_threads[reads:]


class GatedStore(FakeCredentialStore):
    """The first `list` reads the rows, then waits at a gate before handing them back: a slow read."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.first = True

    def list(self, user_id: str) -> Sequence[StoredCredential]:
        rows = super().list(user_id)
        if self.first:
            self.first = False
            self.gate.wait(5)
        return rows


def test_a_slow_read_that_overlaps_a_change_does_not_overwrite_the_newer_one() -> None:
    store = GatedStore()
    store.save("alice", creds(ProviderName.OPENAI, "old-key"))
    reg, _ = registry(config(), store)
    slow = threading.Thread(target=reg.usable, args=("alice",))
    slow.start()  # reads the old key, then stalls
    while store.list_calls == 0:
        threading.Event().wait(0.001)
    store.save("alice", creds(ProviderName.OPENAI, "new-key"))
    reg.forget_user("alice")  # what ConfigureProvider does after saving
    assert [r.credentials.api_key.get_secret_value() for r in reg.usable("alice")] == ["new-key"]
    store.gate.set()
    slow.join()
    assert [r.credentials.api_key.get_secret_value() for r in reg.usable("alice")] == ["new-key"]


class FakeUserStore(UserStore):
    """Users by id; only `get` is what the registry asks."""

    def __init__(self, *users: User) -> None:
        self.users = {u.id: u for u in users}
        self.reads = 0

    def create(self, name: str) -> tuple[User, SecretStr]:
        raise NotImplementedError

    def authenticate(self, token: SecretStr) -> User | None:
        raise NotImplementedError

    def get(self, user_id: str) -> User | None:
        self.reads += 1
        return self.users.get(user_id)

    def get_by_name(self, name: str) -> User | None:
        raise NotImplementedError

    def list(self) -> Sequence[User]:
        return list(self.users.values())

    def revoke(self, name: str) -> bool:
        raise NotImplementedError


def test_an_unknown_or_revoked_user_is_an_error_never_the_environments_credentials() -> None:
    now = datetime.now(UTC)
    users = FakeUserStore(User("alice", "alice", now), User("bob", "bob", now, revoked_at=now))
    reg = ProviderRegistry(config(ai_gateway="env-id"), FakeProviderFactory(), FakeCredentialStore(), users=users)
    assert reg.has_ai_gateway("alice")  # a known user without credentials of their own: the environment's
    for ask in (reg.has_ai_gateway, reg.get_ai_gateway_client, reg.usable, reg.stored, reg.require_user):
        with pytest.raises(UnknownUserError, match="user 'nobody' does not exist"):
            ask("nobody")
        with pytest.raises(UnknownUserError, match="user 'bob' has been revoked"):
            ask("bob")
    assert reg.has_ai_gateway(None)


def test_the_environment_alone_never_builds_the_store() -> None:
    built: list[str] = []

    def store() -> FakeCredentialStore:
        built.append("store")
        return FakeCredentialStore()

    def users() -> FakeUserStore:
        built.append("users")
        return FakeUserStore(User("alice", "alice", datetime.now(UTC)))

    reg = ProviderRegistry(config(ai_gateway="env-id"), FakeProviderFactory(), store, users=users)
    assert reg.has_ai_gateway() and reg.loaded(None) and built == []
    assert reg.has_ai_gateway("alice") and sorted(built) == ["store", "users"]
    assert reg.has_ai_gateway("alice") and len(built) == 2  # built once
