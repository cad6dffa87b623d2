"""Engines and upgrades: SQLite pragmas, URL handling, upgrades that are idempotent and safe to run
concurrently. That the migrations build exactly the models' tables: test_schema_from_models.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

from ideaforge_gateway.adapters.sql import make_engine, upgrade_database
from ideaforge_gateway.domain.errors import ConfigurationError
from tests.integration.store.conftest import Database
from tests.support.postgres import PostgresServer


def test_upgrading_again_changes_nothing(database: Database, engine: Engine) -> None:
    upgrade_database(engine)
    upgrade_database(database.url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0001"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_upgrades_of_a_fresh_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    server: PostgresServer | None = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: upgrade_database(url), range(4)))
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM store_revision")).scalar_one() == 1
        engine.dispose()
    finally:
        if server is not None:
            server.drop_database(url)


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()
    assert (tmp_path / "nested" / "dir" / "x.db").exists()


def test_in_memory_sqlite_keeps_one_database(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    upgrade_database(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM store_revision")).scalar_one() == 0


def test_postgresql_urls_use_psycopg() -> None:
    engine = make_engine("postgresql://user:pw@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"
    assert make_engine("postgres://user:pw@127.0.0.1:1/db").dialect.driver == "psycopg"


def test_an_unsupported_url_is_a_configuration_error_without_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_engine("mysql://root:hunter2@db/app")
    assert "hunter2" not in str(caught.value) and "mysql" in str(caught.value)


def test_statement_errors_do_not_show_parameters(engine: Engine) -> None:
    with pytest.raises(exc.IntegrityError) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO store_revision (id, value) VALUES (:id, :v)"), {"id": 1, "v": 987654321})
    assert "987654321" not in str(caught.value)


def test_the_head_revision_constant_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from ideaforge_gateway.adapters.sql.engine import HEAD_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
