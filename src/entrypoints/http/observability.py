"""Per request: a request id, the access log line and the HTTP metrics.

- `X-Request-Id`: the client's, when well formed (`request_context.begin`), else a new one; it
  is on every answer and in every log line and span about the request.
- One access log line per request (logger `ideaforge.access`, level INFO): method, path (never
  the query string), status, latency, user id, provider, attempts, request id; in JSON logs the
  same as fields.
- `http_server_request_duration_seconds` by method, route template, status and provider, when
  metrics are on.

A plain ASGI middleware (no `BaseHTTPMiddleware`, which costs a task and a queue per request).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ideaforge_gateway.adapters.observability import request_context

if TYPE_CHECKING:
    from ideaforge_gateway.adapters.observability.prometheus_telemetry import PrometheusTelemetry

access_log = logging.getLogger("ideaforge.access")
_REQUEST_ID = b"x-request-id"


class RequestObservation:
    """`metrics` gives the Prometheus telemetry (None when metrics are off); it is asked once,
    at the first request, when the container has been checked at start-up."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], PrometheusTelemetry | None]) -> None:
        self.app = app
        self._metrics_source: Callable[[], PrometheusTelemetry | None] | None = metrics
        self.metrics: PrometheusTelemetry | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if self._metrics_source is not None:
            self.metrics, self._metrics_source = self._metrics_source(), None
        offered = next((v for k, v in scope["headers"] if k == _REQUEST_ID), None)
        context = request_context.begin(offered.decode("latin-1") if offered is not None else None)
        request_id = context.request_id.encode()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_REQUEST_ID, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if self.metrics is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.metrics.http_request(scope["method"], route, status, context.provider or "", elapsed)
            if access_log.isEnabledFor(logging.INFO):
                _access_line(scope, status, elapsed, context)


def _access_line(scope: Scope, status: int, elapsed: float, context: request_context.RequestContext) -> None:
    latency_ms = round(elapsed * 1000, 1)
    access_log.info(
        '%s "%s %s" %d %.1f ms user=%s provider=%s attempts=%d',
        context.request_id,
        scope["method"],
        scope["path"],
        status,
        latency_ms,
        context.user_id or "-",
        context.provider or "-",
        context.attempts,
        extra={
            "request_id": context.request_id,
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "latency_ms": latency_ms,
            "user_id": context.user_id,
            "provider": context.provider,
            "attempts": context.attempts,
        },
    )
