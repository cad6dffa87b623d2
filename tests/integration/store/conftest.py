"""Every store test runs twice: on a SQLite file and on a real PostgreSQL server.

PostgreSQL comes from IDEAFORGE_TEST_POSTGRES_URL or a private server started once per session
(tests/support/postgres.py). SQLite tests get a fresh migrated file each; PostgreSQL tests share
one migrated database, emptied before each test (CREATE DATABASE costs far more than TRUNCATE).
Without PostgreSQL the PostgreSQL half fails with what to install: it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ideaforge_gateway.adapters.crypto import AesGcmCipher, KeyRing
from ideaforge_gateway.adapters.sql import SqlModelCredentialStore, SqlModelUserStore, make_engine, upgrade_database
from tests.support.postgres import PostgresServer

KEY_K1 = KeyRing.generate_entry("k1")
KEY_K2 = KeyRing.generate_entry("k2")


@pytest.fixture(scope="session")
def postgres_store_url(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database()
    upgrade_database(url)
    yield url
    postgres_server.drop_database(url)


def _empty(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE user_api_keys, users"))
            connection.execute(text("UPDATE store_revision SET value = 0"))
    finally:
        engine.dispose()


@dataclass
class Database:
    """A migrated database of one backend; `engine()` opens another pool, like another process."""

    backend: str
    url: str
    sqlite_path: Path | None = None
    server: PostgresServer | None = None
    engines: list[Engine] = field(default_factory=list)

    def engine(self) -> Engine:
        engine = make_engine(self.url)
        self.engines.append(engine)
        return engine

    def data_files(self) -> list[Path]:
        """Every file the backend keeps this data in, flushed; empty for an external server."""
        if self.sqlite_path is not None:
            folder = self.sqlite_path.parent
            return [path for path in folder.iterdir() if path.name.startswith(self.sqlite_path.name)]
        if self.server is not None and self.server.data_dir is not None:
            self.server.checkpoint()
            return [path for path in self.server.data_dir.rglob("*") if path.is_file()]
        return []


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        db = Database("sqlite", f"sqlite:///{path}", sqlite_path=path)
        upgrade_database(db.url)
    else:
        db = Database(
            "postgresql",
            request.getfixturevalue("postgres_store_url"),
            server=request.getfixturevalue("postgres_server"),
        )
        _empty(db.url)
    yield db
    for engine in db.engines:
        engine.dispose()


@pytest.fixture
def engine(database: Database) -> Engine:
    return database.engine()


@pytest.fixture
def cipher() -> AesGcmCipher:
    return AesGcmCipher(KeyRing.parse(KEY_K1))


@pytest.fixture
def users(engine: Engine) -> SqlModelUserStore:
    return SqlModelUserStore(engine)


@pytest.fixture
def store(engine: Engine, cipher: AesGcmCipher) -> SqlModelCredentialStore:
    return SqlModelCredentialStore(engine, cipher)
