"""The AI Gateway instance's catalog as the product uses it: cached, never in the way.

- `listing(provider)` asks the catalog now (the CLI's `models --catalog`, `GET
  /api/models?catalog=true`) and applies the classification policy; its failures are raised.
- `current()` is for enrichment and availability checks: the cached catalog while it is fresh
  (`ttl` seconds), else a new answer; when the catalog does not answer it logs one warning (no
  secret: the error's message) and returns the last good catalog, or None.
- `cached()` is for the request path: never waits on the network. It returns what is cached,
  stale or not, and starts one refresh in the background when it is stale (or absent), so the
  chat path never depends on the catalog answering.
- `max_classification` is the operator's AI_GATEWAY_MAX_CLASSIFICATION (None: no limit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ideaforge_gateway.domain.catalog import Catalog
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import Classification
from ideaforge_gateway.domain.ports.model_catalog import ModelCatalog

log = logging.getLogger("ideaforge_gateway.catalog")
DEFAULT_TTL = 300.0
RETRY_AFTER_FAILURE = 30.0
"""A catalog that did not answer is asked again after this long at the soonest, not in a loop."""


class CatalogView:
    def __init__(
        self,
        catalog: ModelCatalog,
        *,
        instance_id: str,
        max_classification: Classification | None = None,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._catalog = catalog
        self.instance_id = instance_id
        self.max_classification = max_classification
        self._ttl = ttl
        self._clock = clock
        self._last: Catalog | None = None
        self._next_refresh = float("-inf")
        self._refreshing: asyncio.Task[Catalog | None] | None = None

    async def listing(self, provider: str | None = None) -> Catalog:
        """The catalog now (only `provider`'s part when given), within the classification policy."""
        fetched = await self._catalog.fetch(provider)
        if provider is None:
            self._keep(fetched)
        return fetched.within(self.max_classification)

    async def current(self) -> Catalog | None:
        """The whole catalog, cached for `ttl`; on failure the last good one (or None), after one
        warning."""
        if self._fresh():
            return self._last
        return await self._refresh()

    def cached(self) -> Catalog | None:
        """What is cached, without waiting; a stale or missing catalog is refreshed in the background."""
        if not self._fresh():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop: the next caller on one refreshes it
                return self._last
            running = self._refreshing
            # A refresh begun on a loop since closed never finishes: one on this loop replaces it.
            if running is None or running.done() or running.get_loop() is not loop:
                self._refreshing = loop.create_task(self._refresh())
        return self._last

    def _fresh(self) -> bool:
        return self._clock() < self._next_refresh

    async def _refresh(self) -> Catalog | None:
        try:
            self._keep(await self._catalog.fetch())
        except GatewayError as exc:
            self._next_refresh = self._clock() + min(self._ttl, RETRY_AFTER_FAILURE)
            log.warning(
                "the AI Gateway's model catalog did not answer (%s); models are listed without prices or "
                "classification%s",
                exc.message,
                ", and the last catalog is used for the checks" if self._last is not None else "",
            )
        return self._last

    def _keep(self, catalog: Catalog) -> None:
        self._last = catalog
        self._next_refresh = self._clock() + self._ttl
