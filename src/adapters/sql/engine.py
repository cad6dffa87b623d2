"""Engines for SQLite and PostgreSQL, transactions for the stores, and migrations to head.

SQLite is opened in WAL mode with a busy timeout (`timeout`, 5 s unless told) and foreign keys
on. PostgreSQL connections time out after `timeout` (connect, each statement, and waiting for a
pooled connection), so a database that is down or frozen fails a request within a bound instead
of holding it for the whole stall. SQLAlchemy, not the
`sqlite3` module, emits BEGIN (the documented recipe), so reads are transactional too, and a
write transaction starts with BEGIN IMMEDIATE: it takes the write lock up front and waits for it
under the busy timeout instead of failing with SQLITE_BUSY when it later upgrades a read.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    exc,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from ideaforge_gateway.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_TIMEOUT_SECONDS = 5.0
SQLITE_BUSY_TIMEOUT_MS = 5000
_WRITE = "ideaforge_write"
# pg_advisory_xact_lock key: concurrent upgrades (several workers starting) run one at a time.
_MIGRATION_LOCK_KEY = 0x1DEAF06E


OUTAGE_ERRORS: tuple[type[Exception], ...] = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
"""What a database that is down, restarting, frozen or locked raises (through SQLAlchemy): a
connection refused or lost, a connect or statement timeout, no free pooled connection in time."""


def make_engine(url: str | URL, *, echo: bool = False, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Engine:
    """An engine for `sqlite:///PATH` (parent folder created) or a PostgreSQL URL.

    `timeout` (seconds, > 0) bounds every wait on the database: SQLite's busy timeout;
    PostgreSQL's `connect_timeout` (whole seconds, at least 1), `statement_timeout`, and the
    pool's wait for a free connection (`pool_timeout`).

    `postgresql://` and `postgres://` URLs use psycopg 3. Raises `ConfigurationError` for any
    other scheme; the message never repeats the URL, which may hold a password. Statement
    parameters (ciphertexts, token hashes) are kept out of logs and exception messages.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo=echo, busy_timeout_ms=max(1, round(timeout * 1000)))
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            hide_parameters=True,
            pool_timeout=timeout,
            connect_args={
                # libpq reads connect_timeout in whole seconds; below 2 it uses 2.
                "connect_timeout": max(1, math.ceil(timeout)),
                "options": f"-c statement_timeout={max(1, round(timeout * 1000))}",
            },
        )
        # Imported here: psycopg costs about 0.05 s of every start, and SQLite never needs it.
        from ideaforge_gateway.adapters.sql.pg_client_timeout import bounded_connection_class

        connection_class = bounded_connection_class(timeout)

        @event.listens_for(engine, "do_connect")
        def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            return connection_class.connect(*cargs, **cparams)  # a frozen server: see pg_client_timeout

        return engine
    raise ConfigurationError(
        f"unsupported database URL scheme {parsed.drivername!r}: "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def database_reachable(engine: Engine) -> bool:
    """Whether the database answers `SELECT 1` now, within the engine's timeouts (blocking: call
    it from a worker thread). For a readiness probe: False while it is down, frozen or locked."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OUTAGE_ERRORS:
        return False
    return True


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction, committed if the block succeeds, else rolled back.

    `write=True` takes SQLite's write lock at BEGIN; PostgreSQL ignores it.
    """
    with Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options={_WRITE: True} if write else None)
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


HEAD_REVISION = "0001"
"""The newest migration; a test keeps it equal to Alembic's head. A database already there is
opened without importing Alembic at all (its import is about 0.1 s of CPU: it loads every SQL
dialect), and so is a new one (`_create_at_head`)."""

_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
"""Alembic's version table, as Alembic builds it (`DefaultImpl.version_table_impl`)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for this package's migrations, with no alembic.ini.

    With `connection`, migrations run on it (inside its transaction).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(engine_or_url: Engine | str | URL) -> None:
    """Bring the schema to head, in one transaction; a no-op on an up-to-date database.

    A new database (none of the tables, no version table) gets the schema from the models
    (`metadata.create_all`), its seed row, and Alembic's version stamped at head: what the
    migrations build (tests/integration/store/test_schema_from_models.py compares the two on
    SQLite and PostgreSQL), without importing Alembic (its import and the migration run are about
    0.15 s of CPU of a first start). A database behind head is upgraded by Alembic's migrations.

    Safe to call from several processes at once: PostgreSQL upgrades take an advisory lock and
    SQLite ones the write lock, so the second waits and then finds nothing to do.
    """
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    try:
        if _at_head(engine):
            return
        with engine.connect() as connection:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
                # Again under the lock: another process may have upgraded it meanwhile.
                existing = set(inspect(connection).get_table_names())
                if _VERSION_TABLE.name in existing and _version(connection) == HEAD_REVISION:
                    return
                if not existing & _schema_table_names():
                    _create_at_head(connection)
                    return
                from alembic import command

                command.upgrade(alembic_config(connection), "head")
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def _schema_table_names() -> set[str]:
    from ideaforge_gateway.adapters.sql.tables import metadata

    return {*metadata.tables, _VERSION_TABLE.name}


def _create_at_head(connection: Connection) -> None:
    """The models' tables, the seed row of migration 0001 and the version stamp, in the
    caller's transaction."""
    from ideaforge_gateway.adapters.sql.tables import StoreRevisionRow, metadata

    metadata.create_all(connection, checkfirst=False)
    connection.execute(insert(StoreRevisionRow).values(id=1, value=0))
    _VERSION_TABLE.create(connection)
    connection.execute(insert(_VERSION_TABLE).values(version_num=HEAD_REVISION))


def _version(connection: Connection) -> str | None:
    return connection.execute(select(_VERSION_TABLE.c.version_num)).scalar()


def _at_head(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            return _version(connection) == HEAD_REVISION
    except exc.DBAPIError:
        return False  # no version table yet: a new database


def _sqlite_engine(url: URL, *, echo: bool, busy_timeout_ms: int) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    if not in_memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"check_same_thread": False},
        # One shared connection, or every checkout would see a new, empty database.
        poolclass=StaticPool if in_memory else None,
    )
    event.listen(engine, "connect", lambda dbapi, record: _on_sqlite_connect(dbapi, record, busy_timeout_ms))
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, see _on_sqlite_begin
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _enable_wal(cursor, busy_timeout_ms)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _enable_wal(cursor: Any, busy_timeout_ms: int) -> None:
    # WAL is persistent, so usually it is already on. Switching needs an exclusive lock, and
    # SQLite reports a busy database at once instead of waiting, so wait here.
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() in ("wal", "memory"):
        return
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _on_sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
