"""The database-outage grace, with a fake clock and stores that fail on demand: a user and
credentials confirmed less than `grace` seconds before keep being served while the store fails;
past it, or for anyone not seen before, the store's error propagates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from ideaforge_gateway.application.authenticator import Authenticator
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.credentials import ProviderCredentials, User
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.user_store import UserStore
from tests.unit.fakes import FakeCredentialStore, FakeProviderFactory
from tests.unit.test_registry import Clock, config


class Outage(Exception):
    """Stands for the database's errors (`OUTAGE_ERRORS` in the real container)."""


ALICE = User("u1", "alice", datetime(2026, 1, 1, tzinfo=UTC))


class Users(UserStore):
    def __init__(self) -> None:
        self.tokens = {"good": ALICE}
        self.down = False

    def create(self, name: str) -> tuple[User, SecretStr]:
        raise NotImplementedError

    def authenticate(self, token: SecretStr) -> User | None:
        if self.down:
            raise Outage("database down")
        return self.tokens.get(token.get_secret_value())

    def get(self, user_id: str) -> User | None:
        if self.down:
            raise Outage("database down")
        return ALICE if user_id == ALICE.id else None

    def get_by_name(self, name: str) -> User | None:
        raise NotImplementedError

    def list(self) -> Sequence[User]:
        raise NotImplementedError

    def revoke(self, name: str) -> bool:
        raise NotImplementedError


class Credentials(FakeCredentialStore):
    down = False

    def list(self, user_id: str) -> Sequence:  # type: ignore[type-arg]
        if self.down:
            raise Outage("database down")
        return super().list(user_id)

    def revision(self) -> int:
        if self.down:
            raise Outage("database down")
        return super().revision()


def test_a_token_confirmed_within_the_grace_keeps_authenticating_during_an_outage() -> None:
    users, clock = Users(), Clock()
    auth = Authenticator(users, ttl=1.0, clock=clock, grace=60.0, outage_errors=(Outage,))
    assert auth.authenticate(SecretStr("good")) == ALICE
    users.down = True
    clock.now = 59.0
    assert auth.authenticate(SecretStr("good")) == ALICE
    with pytest.raises(Outage):
        auth.authenticate(SecretStr("never-seen"))
    clock.now = 61.0
    with pytest.raises(Outage):
        auth.authenticate(SecretStr("good"))


def test_a_token_refused_before_the_outage_is_not_let_in_by_it() -> None:
    users, clock = Users(), Clock()
    auth = Authenticator(users, ttl=1.0, clock=clock, grace=60.0, outage_errors=(Outage,))
    assert auth.authenticate(SecretStr("good")) == ALICE
    del users.tokens["good"]  # revoked: the next read sees it
    clock.now = 2.0
    assert auth.authenticate(SecretStr("good")) is None
    users.down = True
    clock.now = 3.0
    with pytest.raises(Outage):
        auth.authenticate(SecretStr("good"))


def test_without_a_grace_an_outage_fails_at_once() -> None:
    users, clock = Users(), Clock()
    auth = Authenticator(users, ttl=1.0, clock=clock, outage_errors=(Outage,))
    auth.authenticate(SecretStr("good"))
    users.down, clock.now = True, 2.0
    with pytest.raises(Outage):
        auth.authenticate(SecretStr("good"))


def test_the_registry_serves_cached_credentials_within_the_grace_only() -> None:
    store, clock = Credentials(), Clock()
    store.save(ALICE.id, ProviderCredentials(ProviderName.OPENAI, api_key=SecretStr("sk-alice")))
    users = Users()
    registry = ProviderRegistry(
        config(), FakeProviderFactory(), store, users=users, clock=clock, grace=60.0, outage_errors=(Outage,)
    )
    resolved = registry.resolve(ProviderName.OPENAI, ALICE.id)
    assert resolved is not None and resolved.source == "user"
    store.down = users.down = True
    clock.now = 30.0  # past the revision interval: the store is asked, and fails
    again = registry.resolve(ProviderName.OPENAI, ALICE.id)
    assert again is not None and again.credentials == resolved.credentials
    with pytest.raises(Outage):
        registry.resolve(ProviderName.OPENAI, "someone-not-cached")
    clock.now = 61.0
    with pytest.raises(Outage):
        registry.resolve(ProviderName.OPENAI, ALICE.id)
    store.down = users.down = False
    assert registry.resolve(ProviderName.OPENAI, ALICE.id) is not None
