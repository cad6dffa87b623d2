"""`ideaforge serve`'s one start-up line: where it listens, where a person goes, what it uses.

The line is logged (logger `ideaforge_gateway.serve`, level INFO, shown at the default level
too, hidden by `--log-level error`) once the server answers `/healthz` with the proof that it is
the server this `serve` started (`start_proof`: any other process that answers on the port is
not announced), so it means "ready", not "about to try". It names no secret: the database is its
kind and place (never a password), the providers are names only.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.domain.ports.provider_factory import ProviderFactory
from ideaforge_gateway.entrypoints.http.start_proof import CHALLENGE_HEADER, PROOF_HEADER, new_challenge, proves

if TYPE_CHECKING:
    from ideaforge_gateway.entrypoints.container import Container

LOGGER = "ideaforge_gateway.serve"
_POLL_SECONDS = 0.05
_GIVE_UP_SECONDS = 600.0
"""A server that never answers fails on its own (uvicorn says why); the announcer just stops."""


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def startup_line(container: Container, *, host: str, port: int, workers: int) -> str:
    """`serving http://HOST:PORT · Settings page ... · API docs ... · database ... · providers ...`."""
    from sqlalchemy.engine import make_url

    url = base_url(host, port)
    anywhere = " (all interfaces)" if host in ("0.0.0.0", "::") else ""  # noqa: S104 - a comparison, not a bind
    database = make_url(container.database_url())
    if database.get_backend_name() == "sqlite":
        where = f"SQLite at {database.database}"
    else:
        where = f"PostgreSQL at {database.host or 'localhost'}{f':{database.port}' if database.port else ''}"
        where += f"/{database.database}" if database.database else ""
    # The environment's providers only: no client is built, so no adapter needs loading yet.
    registry = ProviderRegistry(container.gateway_config(), _NoClients())
    usable = [r.provider.value for r in registry.usable(None)]
    providers = ", ".join(usable) if usable else "none (each user adds their own on the Settings page)"
    idle = registry.idle_environment_providers()
    notes = f"; {'; '.join(idle)}" if idle else ""
    count = f" with {workers} workers" if workers > 1 else ""
    return (
        f"IdeaForge gateway ready at {url}{anywhere}{count} · Settings page {url}/settings · API docs {url}/docs · "
        f"OpenAI-compatible API {url}/v1 · database: {where} · providers from the environment: {providers}{notes}"
    )


class _NoClients(ProviderFactory):
    def build(self, credentials: ProviderCredentials) -> LLMProvider:
        raise AssertionError("the start-up line reads the configuration only")


def announce_when_ready(
    host: str, port: int, line: str, start_key: str, *, then: Callable[[], None] | None = None
) -> None:
    """Log `line` once `/healthz` answers with the proof for `start_key` (`answers_as`), from a
    daemon thread (uvicorn owns the main thread); then run `then` in that thread (the models
    check: after ready, so start-up never waits on it)."""
    logger = logging.getLogger(LOGGER)
    if logging.getLogger().getEffectiveLevel() <= logging.WARNING:
        logger.setLevel(logging.INFO)  # the one line an operator needs, at the default level too
    probe_host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104

    def wait_then_log() -> None:
        deadline = time.monotonic() + _GIVE_UP_SECONDS
        while time.monotonic() < deadline:
            if answers_as(probe_host, port, start_key):
                logger.info("%s", line)
                if then is not None:
                    then()
                return
            time.sleep(_POLL_SECONDS)

    threading.Thread(target=wait_then_log, name="ideaforge-announce", daemon=True).start()


def answers_as(host: str, port: int, start_key: str) -> bool:
    """Whether `host:port` answers `/healthz` with 200 and the proof, for a new challenge, that it
    holds `start_key`: the server this `serve` started, not whatever else took the port."""
    challenge = new_challenge()
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/healthz", headers={CHALLENGE_HEADER: challenge})
        response = connection.getresponse()
        return response.status == 200 and proves(start_key, challenge, response.getheader(PROOF_HEADER))
    except OSError:
        return False
    finally:
        connection.close()


def warn_about_models() -> None:
    """Log a warning for each model the environment's AI Gateway (or a user's default) would be
    asked for that the instance does not offer (`model_availability.startup_warnings`), once, in
    the serving process, on a loop and a container of its own: every worker shares the verdict."""
    from ideaforge_gateway.application.model_availability import startup_warnings
    from ideaforge_gateway.entrypoints.container import Container, close

    async def check() -> list[str]:
        container = Container()
        try:
            deadline = container.settings().ideaforge_deadline_seconds
            view = container.catalog_view()
            users = container.user_store() if view is not None else None  # users are checked against it only
            return await startup_warnings(container.registry(), view, users, deadline=deadline)
        finally:
            await close(container)

    logger = logging.getLogger(LOGGER)
    try:
        warnings = asyncio.run(check())
    except Exception as exc:  # noqa: BLE001 - a check that fails must not take the server down
        logger.warning("the models could not be checked at start (%s)", type(exc).__name__)
        return
    for warning in warnings:
        logger.warning("%s", warning)
