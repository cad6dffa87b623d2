"""The operators' routes, off the public surface unless the operator turns them on.

- `GET /metrics`: Prometheus' text format. Served when `IDEAFORGE_METRICS=true` or an
  `IDEAFORGE_OPERATOR_TOKEN` is set; with a token it requires `Authorization: Bearer <token>`.
  Otherwise 404, as if it did not exist.
- `GET /ops/providers/health`: per provider credential and model, the circuit's state, the last
  failure and when the provider will be tried again (this worker's view). Requires the operator
  token; 404 when none is set. `ideaforge providers health` prints it.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response

from ideaforge_gateway.application.provider_health import ProviderHealthEntry
from ideaforge_gateway.entrypoints.http.deps import ContainerDep
from ideaforge_gateway.entrypoints.http.errors import ApiError
from ideaforge_gateway.entrypoints.settings import Settings

router = APIRouter(tags=["operators"])
_NOT_FOUND = ApiError(404, "Not Found", "http_error")


def _require_operator(settings: Settings, request: Request) -> None:
    """401 unless the request carries the operator token (compared in constant time)."""
    token = settings.ideaforge_operator_token
    if token is None:
        return
    scheme, _, offered = (request.headers.get("authorization") or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not secrets.compare_digest(offered.strip().encode(), expected):
        message = "this route needs the operator token: Authorization: Bearer <IDEAFORGE_OPERATOR_TOKEN>"
        raise ApiError(401, message, "unauthorized")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, container: ContainerDep) -> Response:
    settings = container.settings()
    telemetry = container.metrics()
    if telemetry is None:
        raise _NOT_FOUND
    _require_operator(settings, request)
    from ideaforge_gateway.adapters.observability.prometheus_telemetry import CONTENT_TYPE

    return Response(telemetry.exposition(), media_type=CONTENT_TYPE)


@router.get("/ops/providers/health", include_in_schema=False)
async def providers_health(request: Request, container: ContainerDep) -> dict[str, Any]:
    settings = container.settings()
    if settings.ideaforge_operator_token is None:
        raise _NOT_FOUND
    _require_operator(settings, request)
    return {"worker": os.getpid(), "providers": [health_json(e) for e in container.provider_health().snapshot()]}


def health_json(entry: ProviderHealthEntry) -> dict[str, Any]:
    return {
        "provider": entry.provider.value,
        "credential": entry.credential,
        "model": entry.model,
        "state": entry.state.value,
        "last_outcome": entry.last_outcome,
        "last_failure_kind": entry.last_failure_kind,
        "last_failure": entry.last_failure,
        "last_failure_at": entry.last_failure_at,
        "retry_at": entry.retry_at,
    }
