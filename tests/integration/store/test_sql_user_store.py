"""SqlModelUserStore on SQLite and PostgreSQL: tokens shown once, stored as hashes, revocable."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from ideaforge_gateway.adapters.sql import SqlModelUserStore
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.ports.user_store import UserStore


def test_it_is_a_user_store(users: SqlModelUserStore) -> None:
    assert isinstance(users, UserStore)


def test_create_then_authenticate(users: SqlModelUserStore) -> None:
    user, token = users.create("alice@example.com")

    assert user.name == "alice@example.com" and user.active and len(user.id) == 32
    assert user.created_at.tzinfo is not None
    assert len(token.get_secret_value()) >= 43
    assert users.authenticate(token) == user
    assert users.get_by_name("alice@example.com") == user


def test_tokens_are_stored_only_as_hashes(users: SqlModelUserStore, engine: Engine) -> None:
    _, token = users.create("alice")
    with engine.connect() as connection:
        dump = repr(connection.execute(text("SELECT * FROM users")).all())
    assert token.get_secret_value() not in dump
    assert token.get_secret_value() not in repr(token)


def test_unknown_tokens_do_not_authenticate(users: SqlModelUserStore) -> None:
    _, token = users.create("alice")
    assert users.authenticate(SecretStr("")) is None
    assert users.authenticate(SecretStr(token.get_secret_value() + "x")) is None
    assert users.authenticate(SecretStr("ifg_" + "A" * 43)) is None


def test_each_user_gets_their_own_token(users: SqlModelUserStore) -> None:
    alice, alice_token = users.create("alice")
    bob, bob_token = users.create("bob")
    assert alice_token != bob_token
    assert users.authenticate(alice_token) == alice
    assert users.authenticate(bob_token) == bob


def test_revoked_users_no_longer_authenticate(users: SqlModelUserStore) -> None:
    _, token = users.create("alice")
    bob, bob_token = users.create("bob")

    assert users.revoke("alice")
    assert users.revoke("alice"), "revoking twice is fine"
    assert not users.revoke("nobody")

    assert users.authenticate(token) is None
    assert users.authenticate(bob_token) == bob
    alice = users.get_by_name("alice")
    assert alice is not None and not alice.active and alice.revoked_at is not None


def test_list_includes_revoked_users_oldest_first(users: SqlModelUserStore) -> None:
    for name in ("carol", "alice", "bob"):
        users.create(name)
    users.revoke("alice")

    listed = users.list()

    assert [u.name for u in listed] == ["carol", "alice", "bob"]
    assert [u.active for u in listed] == [True, False, True]


def test_a_taken_name_is_refused(users: SqlModelUserStore) -> None:
    users.create("alice")
    with pytest.raises(InvalidRequestError, match="'alice' already exists"):
        users.create("alice")
    users.revoke("alice")
    with pytest.raises(InvalidRequestError):
        users.create("alice")
    assert len(users.list()) == 1


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "semi;colon", "ünïcode", "new\nline", "slash/"])
def test_a_malformed_name_is_refused(users: SqlModelUserStore, name: str) -> None:
    with pytest.raises(InvalidRequestError, match="1 to 64"):
        users.create(name)
    assert users.list() == []


def test_get_by_name_of_nobody(users: SqlModelUserStore) -> None:
    assert users.get_by_name("nobody") is None
