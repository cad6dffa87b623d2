"""`save_all`: several providers' credentials in one transaction, all saved or none, on SQLite
and PostgreSQL; the failure is injected in the database session, between the two row writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, event, exc

from ideaforge_gateway.adapters.sql import SqlModelCredentialStore, SqlModelUserStore
from ideaforge_gateway.domain.credentials import ProviderCredentials, Verification
from ideaforge_gateway.domain.models import ProviderName


def key(provider: ProviderName, value: str) -> ProviderCredentials:
    return ProviderCredentials(provider, api_key=SecretStr(value))


class FailSecondRowWrite:
    """Raises on the second statement that writes a `user_api_keys` row, as a database dying
    mid-transaction would."""

    def __init__(self, engine: Engine) -> None:
        self.writes = 0
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT INTO USER_API_KEYS", "UPDATE USER_API_KEYS")):
            self.writes += 1
            if self.writes == 2:
                raise exc.OperationalError(statement, None, RuntimeError("injected: the second write fails"))


def test_save_all_saves_every_provider_in_one_revision(
    store: SqlModelCredentialStore, users: SqlModelUserStore
) -> None:
    user, _ = users.create("alice")
    before = store.revision()
    store_time = datetime.now(UTC)
    verified = Verification(True, store_time)
    saved = store.save_all(
        user.id, [key(ProviderName.OPENAI, "sk-1"), key(ProviderName.GEMINI, "g-1")], verification=verified
    )
    assert [s.provider for s in saved] == [ProviderName.OPENAI, ProviderName.GEMINI]
    assert store.revision() == before + 1
    listed = {s.provider: s for s in store.list(user.id)}
    assert set(listed) == {ProviderName.OPENAI, ProviderName.GEMINI}
    for stored in listed.values():
        assert stored.verification is not None and stored.verification.ok
        assert stored.verification.at == store_time


def test_a_failure_between_two_writes_leaves_every_provider_as_it_was(
    store: SqlModelCredentialStore, users: SqlModelUserStore, engine: Engine
) -> None:
    user, _ = users.create("alice")
    store.save(user.id, key(ProviderName.OPENAI, "sk-old"))
    revision = store.revision()
    failing = FailSecondRowWrite(engine)
    with pytest.raises(exc.OperationalError, match="injected"):
        store.save_all(user.id, [key(ProviderName.OPENAI, "sk-new"), key(ProviderName.GEMINI, "g-new")])
    assert failing.writes == 2  # the first row was written, in the transaction that rolled back
    listed = {s.provider: s for s in store.list(user.id)}
    assert set(listed) == {ProviderName.OPENAI}
    credentials = listed[ProviderName.OPENAI].credentials
    assert credentials is not None and credentials.api_key.get_secret_value() == "sk-old"
    assert store.revision() == revision
