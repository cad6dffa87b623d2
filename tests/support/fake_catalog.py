"""The AI Gateway's model catalog on 127.0.0.1, as public code that calls it shows it.

`GET /v1/catalog/models` with `Authorization: Bearer client_id:client_secret` and
`X-Instance-Id: <instance>` answers a JSON array of providers, each with a classification 0-3
and endpoints listing models with their cost in US dollars per million tokens; `?provider=`
keeps one provider. A wrong bearer is a 401, a wrong instance a 403. Knobs for each failure.

`instances` adds more instances, each with its own service account and catalog (users' own
instances); the catalog also answers under `/{where}/v1/catalog/models`, for catalog URL
templates such as `{url}/{region.}{env}/v1/catalog/models`, and records each request's
(where, instance id) in `seen`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.loopback_server import LoopbackServer

PATH = "/v1/catalog/models"
INSTANCE = "inst-42"

# gpt-4-turbo (the default AI_GATEWAY_PREMIUM_MODEL) is on the gateway's model list but not here:
# the instance may not use it.
CATALOG: list[dict[str, Any]] = [
    {
        "name": "openai",
        "classification": 0,
        "endpoints": [
            {
                "slug": "openai-chat",
                "models": [
                    {"name": "gpt-4o", "cost": {"input_unit_cost": 2.5, "output_unit_cost": 10.0}},
                    {"name": "gpt-4o-mini", "cost": {"input_unit_cost": 0.15, "output_unit_cost": 0.6}},
                    {"name": "gpt-4.1", "cost": {"input_unit_cost": 2, "output_unit_cost": 8}},
                ],
            }
        ],
    },
    {
        "name": "google-gemini",
        "classification": 1,
        "endpoints": [
            {
                "slug": "gemini",
                "models": [{"name": "gemini-2.5-pro", "cost": {"input_unit_cost": 1.25, "output_unit_cost": 10}}],
            }
        ],
    },
    {
        "name": "anthropic",
        "classification": 2,
        "endpoints": [
            {
                "slug": "anthropic-messages",
                "models": [
                    {"name": "claude-sonnet-4-5-20250929", "cost": {"input_unit_cost": 3, "output_unit_cost": 15}}
                ],
            }
        ],
    },
]


@dataclass(frozen=True)
class Instance:
    """Another instance: the service account it accepts and its catalog (`CATALOG`'s shape)."""

    client_id: str
    client_secret: str
    catalog: list[dict[str, Any]]


@dataclass
class CatalogState:
    client_id: str = "svc-client"
    client_secret: str = "svc-secret"
    instance_id: str = INSTANCE
    failure: int | None = None
    """Answer every request with this status."""
    malformed: bool = False
    """Answer 200 with a body that is not a catalog."""
    oversize: int = 0
    """Pad the answer (with a field the parser ignores) to at least this many bytes."""
    requests: int = 0
    seen_providers: list[str | None] = field(default_factory=list)
    instances: dict[str, Instance] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    """(where, X-Instance-Id) of each request; `where` is "" under the plain path."""


class FakeCatalog:
    def __init__(self, **state: Any) -> None:
        self.state = CatalogState(**state)
        self.lock = threading.Lock()
        app = web.Application()
        app.router.add_get(PATH, self._catalog)
        app.router.add_get("/{where}" + PATH, self._catalog)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return self.server.url + PATH

    @property
    def template(self) -> str:
        """An AI_GATEWAY_CATALOG_URL that the environment and region fill in."""
        return self.server.url + "/{region.}{env}" + PATH

    def __enter__(self) -> FakeCatalog:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def _catalog(self, request: web.Request) -> web.Response:
        state = self.state
        provider = request.query.get("provider")
        instance_id = request.headers.get("X-Instance-Id")
        with self.lock:
            state.requests += 1
            state.seen_providers.append(provider)
            state.seen.append((request.match_info.get("where", ""), instance_id))
        other = state.instances.get(instance_id or "")
        client_id, secret, catalog = (
            (other.client_id, other.client_secret, other.catalog)
            if other is not None
            else (state.client_id, state.client_secret, CATALOG)
        )
        if request.headers.get("Authorization") != f"Bearer {client_id}:{secret}":
            return web.json_response({"detail": "invalid credentials"}, status=401)
        if other is None and instance_id != state.instance_id:
            return web.json_response({"detail": "unknown instance"}, status=403)
        if state.failure is not None:
            return web.json_response({"detail": "failure"}, status=state.failure)
        if state.malformed:
            return web.json_response([{"name": "openai", "classification": "very green"}])
        answer = [p for p in catalog if provider is None or p["name"] == provider]
        if state.oversize:
            answer = [{**answer[0], "padding": "x" * state.oversize}, *answer[1:]]
        return web.Response(body=json.dumps(answer).encode(), content_type="application/json")
