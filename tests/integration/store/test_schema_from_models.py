"""A new database gets its schema from the models, not from the migrations (Alembic's import is a
quarter of a second of a first start): the two must build the same schema, on both backends.

Each test makes two new databases, one by `upgrade_database` (the models' `create_all`, the seed
row and the version stamp) and one by Alembic's migrations alone, and compares what SQLAlchemy
reflects of them: every table, column (type as the backend spells it, nullability, default),
primary key, foreign key, index, unique and check constraint, sequence, and the seeded rows.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ideaforge_gateway.adapters.sql import make_engine, upgrade_database
from ideaforge_gateway.adapters.sql.engine import HEAD_REVISION, alembic_config
from ideaforge_gateway.adapters.sql.tables import metadata
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of new, empty databases of one backend (dropped afterwards)."""
    made: list[str] = []
    server: PostgresServer | None = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")

    def make() -> str:
        url = f"sqlite:///{tmp_path / f'db{len(made)}.db'}" if server is None else server.create_database()
        made.append(url)
        return url

    yield make
    if server is not None:
        for url in made:
            server.drop_database(url)


def migrate_with_alembic(url: str) -> None:
    """Every migration, run by Alembic itself, as before `upgrade_database` learnt `create_all`."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def reflected_schema(url: str) -> dict[str, Any]:
    """What the database says it holds: comparable, ordered, with types in the backend's words."""
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        by_name = lambda items: sorted(items, key=lambda item: str(item.get("name")))  # noqa: E731
        tables: dict[str, Any] = {}
        for name in sorted(inspector.get_table_names()):
            columns = [
                {**column, "type": column["type"].compile(dialect=engine.dialect)}
                for column in inspector.get_columns(name)
            ]
            tables[name] = {
                "columns": columns,
                "primary_key": inspector.get_pk_constraint(name),
                "foreign_keys": by_name(inspector.get_foreign_keys(name)),
                "indexes": by_name(inspector.get_indexes(name)),
                "unique": by_name(inspector.get_unique_constraints(name)),
                "checks": by_name(inspector.get_check_constraints(name)),
            }
        sequences = inspector.get_sequence_names() if engine.dialect.name == "postgresql" else []
        with engine.connect() as connection:
            rows = {
                "alembic_version": connection.execute(text("SELECT version_num FROM alembic_version")).all(),
                "store_revision": connection.execute(text("SELECT id, value FROM store_revision")).all(),
            }
        return {"tables": tables, "sequences": sorted(sequences), "rows": rows}
    finally:
        engine.dispose()


def test_the_models_build_the_schema_the_migrations_build(new_database: Any) -> None:
    from_models, from_migrations = new_database(), new_database()
    upgrade_database(from_models)
    migrate_with_alembic(from_migrations)
    models, migrations = reflected_schema(from_models), reflected_schema(from_migrations)
    assert set(models["tables"]) == {"alembic_version", "store_revision", "user_api_keys", "users"}
    assert models["tables"]["user_api_keys"]["checks"] != []  # check constraints are reflected
    assert models["rows"] == {"alembic_version": [(HEAD_REVISION,)], "store_revision": [(1, 0)]}
    assert models == migrations


def test_the_migrations_build_exactly_the_models_tables(new_database: Any) -> None:
    url = new_database()
    migrate_with_alembic(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == HEAD_REVISION
    finally:
        engine.dispose()


def test_a_database_alembic_has_seen_is_upgraded_by_the_migrations(new_database: Any) -> None:
    """A version table without a revision (Alembic's "base") is a database behind head: Alembic
    runs every migration on it, as it always did."""
    url = new_database()
    engine: Engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.stamp(alembic_config(connection), "base")
        assert inspect(engine).get_table_names() == ["alembic_version"]
        upgrade_database(engine)
        assert reflected_schema(url)["rows"] == {"alembic_version": [(HEAD_REVISION,)], "store_revision": [(1, 0)]}
    finally:
        engine.dispose()


_FIRST_START = """
import sys
from ideaforge_gateway.adapters.sql import upgrade_database
upgrade_database(sys.argv[1])
upgrade_database(sys.argv[1])
print("ALEMBIC:", sorted(m for m in sys.modules if m == "alembic" or m.startswith("alembic."))[:3])
"""


def test_a_new_database_and_one_at_head_are_opened_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_START, url], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "ALEMBIC: []" in done.stdout
    assert reflected_schema(url)["rows"]["alembic_version"] == [(HEAD_REVISION,)]
