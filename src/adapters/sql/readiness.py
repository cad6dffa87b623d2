"""Whether the database can serve requests: reachable, and its schema at this code's head."""

from __future__ import annotations

from sqlalchemy import Engine, exc

from ideaforge_gateway.adapters.sql.engine import HEAD_REVISION


def database_problems(engine: Engine) -> list[str]:
    """What stops the database from serving, in words for an operator; empty when it can.
    Never the URL (it may hold a password): the driver's error class only."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            try:
                version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            except exc.DBAPIError:
                version = None
    except exc.SQLAlchemyError as error:
        cause = type(getattr(error, "orig", None) or error).__name__
        return [f"database unreachable ({cause}): check IDEAFORGE_DATABASE_URL and that the server is running"]
    if version != HEAD_REVISION:
        return [
            f"database schema at {version or 'no revision'}, not at head {HEAD_REVISION}: "
            "restart `ideaforge serve`, which migrates at start-up"
        ]
    return []
