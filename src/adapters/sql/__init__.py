"""The SQL store: SQLModel tables, Alembic migrations, and the stores over them.

SQLite (one file, WAL) for a single host, PostgreSQL (psycopg 3) for several processes or hosts.
"""

from ideaforge_gateway.adapters.sql.engine import make_engine, upgrade_database
from ideaforge_gateway.adapters.sql.key_rotation import RotationReport, rotate_keys
from ideaforge_gateway.adapters.sql.sqlmodel_credential_store import SqlModelCredentialStore
from ideaforge_gateway.adapters.sql.sqlmodel_user_store import SqlModelUserStore

__all__ = [
    "RotationReport",
    "SqlModelCredentialStore",
    "SqlModelUserStore",
    "make_engine",
    "rotate_keys",
    "upgrade_database",
]
