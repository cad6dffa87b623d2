"""Alembic environment, run by `upgrade_database` (no alembic.ini needed).

The connection comes from `config.attributes["connection"]` when the caller passes one (it then
owns the transaction); otherwise from the `sqlalchemy.url` main option. Offline (`--sql`) mode
renders SQL for that URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ideaforge_gateway.adapters.sql.engine import make_engine
from ideaforge_gateway.adapters.sql.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = make_engine(url)
    try:
        with engine.connect() as own_connection:
            _run(own_connection)
            own_connection.commit()
    finally:
        engine.dispose()


_main()
