"""What a readiness probe (`/readyz`) asks of the database, off the event loop."""

from __future__ import annotations

import asyncio

from ideaforge_gateway.adapters.sql.engine import OUTAGE_ERRORS, database_reachable
from ideaforge_gateway.entrypoints.container import Container


async def database_ready(container: Container) -> bool:
    """Whether the container's database answers now, within IDEAFORGE_DATABASE_TIMEOUT_SECONDS;
    asked in a worker thread, so `/healthz` and every other request keep being served meanwhile.
    False while the database is unreachable (the process is alive but should get no traffic)."""
    try:
        engine = await asyncio.to_thread(container.engine)
        return await asyncio.to_thread(database_reachable, engine)
    except OUTAGE_ERRORS:
        return False  # not reachable even to open the engine (it is opened on first need)
