"""The tables, as SQLModel classes. They stay in this adapter; the stores map them to domain
objects. Any change here needs a migration in `migrations/versions/`: a new database is made
from these classes (`upgrade_database`), an existing one by the migrations, and
tests/integration/store/test_schema_from_models.py fails when the two schemas differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from ideaforge_gateway.domain.models import ProviderName

# Set before any table is defined: constraint names are derived when a table is built, and the
# migrations spell the same names, so autogenerate and `compare_metadata` see no drift.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PROVIDERS_CHECK = "provider IN ({})".format(", ".join(f"'{p.value}'" for p in ProviderName))

API_KEY_FIELD = "api_key"
"""The binding name of `user_api_keys.api_key_encrypted` (client id or API key)."""
CLIENT_SECRET_FIELD = "client_secret"
"""The binding name, and the `metadata` key, of the encrypted client secret."""


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone: UTC is assumed)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_column(*, nullable: bool) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


class UserRow(SQLModel, table=True):
    """A user; `token_hash` is the SHA-256 hex of the token (32 random bytes, so no KDF)."""

    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _utc_column(nullable=False)
    revoked_at: datetime | None = _utc_column(nullable=True)


class UserApiKeyRow(SQLModel, table=True):
    """One user's credentials for one provider.

    `api_key_encrypted` is the encrypted client id or API key; `meta` (column `metadata`)
    holds the encrypted `client_secret` and the plain settings that are set (`base_url`,
    `default_model`, `token_url`, `auth_method`, `scope`, `audience`, and the AI Gateway
    deployment: `instance_id`, `env`, `region`, `route_template`). `revision` is the store
    revision of the row's last change.
    """

    __tablename__ = "user_api_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "provider"),
        CheckConstraint(PROVIDERS_CHECK, name="provider"),
    )

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32)
    provider: str = Field(max_length=32)
    api_key_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    enabled: bool = True
    created_at: datetime = _utc_column(nullable=False)
    updated_at: datetime = _utc_column(nullable=False)
    revision: int = 0
    last_verified_at: datetime | None = _utc_column(nullable=True)
    last_verification_ok: bool | None = None
    last_verification_error: str | None = Field(default=None, sa_column=Column(Text))


class StoreRevisionRow(SQLModel, table=True):
    """A single row (id 1) whose `value` grows with every credential change, in any process.

    Writers increment it first in their transaction, which also serialises credential writes
    (they are rare) so that an upsert never races another.
    """

    __tablename__ = "store_revision"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(primary_key=True)
    value: int = 0


metadata = SQLModel.metadata
