"""Traces configured the standard way (`OTEL_EXPORTER_OTLP_ENDPOINT`) reach an OTLP/HTTP collector
on 127.0.0.1: the SDK and exporter that the `otel` extra installs, with nothing overridden."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ideaforge_gateway.entrypoints.container import Container
from tests.integration.observability.conftest import CANARIES, observed_container
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer
from tests.support.loopback_server import LoopbackServer


class Collector:
    """Receives `POST /v1/traces` (protobuf) and keeps the spans, by name, with their attributes."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, object]]] = []
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        self.server = LoopbackServer(app)

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        export = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            self.bodies.append(body)
            for resource in export.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.spans.append((span.name, {a.key: _value(a.value) for a in span.attributes}))
        return web.Response(body=b"", content_type="application/x-protobuf")


def _value(any_value: object) -> object:
    kind = any_value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(any_value, kind) if kind else None


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    collector.server.start()
    yield collector
    collector.server.stop()


def test_spans_reach_the_collector_named_by_the_standard_variables(
    tmp_path: Path,
    gateway: FakeAIGateway,
    openai: FakeAIGateway,
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.server.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-under-test")
    container: Container = observed_container(tmp_path, gateway, openai)
    gateway.state.chat_failures = [503, 503]
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        body = {"model": "fast", "messages": [{"role": "user", "content": "secret plans"}]}
        answer = client.post(
            "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {live.create_user('a')}"}
        )
        assert answer.status_code == 200
    # Leaving the server closed the container: the batch was flushed on the way out.
    names = sorted(name for name, _ in collector.spans)
    assert names == ["chat gpt-4o-mini"] * 3 + ["gateway chat"]
    failed = [a for n, a in collector.spans if a.get("error.type") == "unavailable"]
    assert len(failed) == 2 and all(a["ideaforge.fallback.reason"] == "unavailable" for a in failed)
    raw = b"".join(collector.bodies)
    assert b"gateway-under-test" in raw and b"secret plans" not in raw
    for canary in CANARIES:
        assert canary.encode() not in raw
