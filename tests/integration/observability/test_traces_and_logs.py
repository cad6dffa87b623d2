"""Traces (to the SDK's in-memory exporter), log lines and request ids, through the real app."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ideaforge_gateway.adapters.observability.log_format import JsonFormatter
from tests.integration.observability.conftest import CANARIES, observed_container
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer

CHAT = "/v1/chat/completions"
PROMPT = "a prompt that must not be traced"


def ask(client: httpx.Client, token: str, **headers: str) -> httpx.Response:
    body = {"model": "standard", "messages": [{"role": "user", "content": PROMPT}]}
    return client.post(CHAT, json=body, headers={"Authorization": f"Bearer {token}", **headers})


def test_a_fallover_is_one_request_span_with_a_child_per_attempt(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway
) -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    container = observed_container(tmp_path, gateway, openai)
    container.tracer_provider.override(providers.Object(tracer_provider))
    gateway.state.chat_failures = [503, 503]
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        answer = ask(client, live.create_user("ada"), **{"X-Request-Id": "trace-me-1"})
    assert answer.status_code == 200, answer.text

    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.name == "gateway chat"]
    attempts = sorted((s for s in spans if s.parent is not None), key=lambda s: s.start_time or 0)
    assert request.kind is SpanKind.SERVER and request.parent is None
    assert request.attributes is not None
    assert request.attributes["ideaforge.request_id"] == "trace-me-1"
    assert request.attributes["gen_ai.provider.name"] == "openai"
    assert request.attributes["gen_ai.usage.input_tokens"] == 11
    assert request.attributes["gen_ai.usage.output_tokens"] == 7
    assert request.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert [e.name for e in request.events] == ["ideaforge.fallover"]
    assert request.events[0].attributes == {
        "ideaforge.from_provider": "ai_gateway",
        "ideaforge.to_provider": "openai",
        "ideaforge.fallback.reason": "unavailable",
    }

    assert [(s.name, s.kind) for s in attempts] == [("chat gpt-4o", SpanKind.CLIENT)] * 3
    assert all(s.parent is not None and s.parent.span_id == request.context.span_id for s in attempts)
    first, second, answered = (dict(s.attributes or {}) for s in attempts)
    for failed in (first, second):
        assert failed["gen_ai.provider.name"] == "ai_gateway"
        assert failed["error.type"] == failed["ideaforge.fallback.reason"] == "unavailable"
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert answered["gen_ai.provider.name"] == answered["gen_ai.system"] == "openai"
    assert answered["gen_ai.request.model"] == answered["gen_ai.response.model"] == "gpt-4o"
    assert answered["gen_ai.usage.input_tokens"] == 11 and answered["ideaforge.attempt.outcome"] == "ok"
    assert "error.type" not in answered

    everything = json.dumps(
        [[dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events], s.status.description] for s in spans],
        default=str,
    )
    assert PROMPT not in everything and "echo:" not in everything  # neither the prompt nor the answer
    for canary in CANARIES:
        assert canary not in everything


def test_no_tracing_without_otlp_settings(tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway) -> None:
    container = observed_container(tmp_path, gateway, openai)
    assert container.tracer_provider() is None
    container.shutdown_resources()


def test_a_rotated_secret_logs_a_credential_warning_a_fallover_and_the_access_line(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ideaforge")
    container = observed_container(tmp_path, gateway, openai, ai_gateway_client_secret=CANARIES[0] + "-rotated")
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        token = live.create_user("ada")
        user_id = live.container.user_store().get_by_name("ada").id  # type: ignore[union-attr]
        answer = ask(client, token, **{"X-Request-Id": "req-401-fallover"})
        refused = ask(client, "not-a-token")
        odd = ask(client, token, **{"X-Request-Id": "bad id with spaces\tand tabs"})
    assert answer.status_code == 200 and answer.headers["X-Request-Id"] == "req-401-fallover"
    assert refused.status_code == 401 and len(refused.headers["X-Request-Id"]) == 32
    assert odd.headers["X-Request-Id"] != "bad id with spaces\tand tabs"

    mine = [r for r in caplog.records if getattr(r, "request_id", None) == "req-401-fallover"]
    warnings = [r.getMessage() for r in mine if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    credential, fallover = warnings
    assert "ai_gateway rejected credential" in credential and "authentication" in credential
    assert "AI_GATEWAY_CLIENT_ID / AI_GATEWAY_CLIENT_SECRET" in credential
    assert "falling over from ai_gateway to openai: authentication" in fallover
    [access] = [r for r in mine if r.name == "ideaforge.access"]
    assert access.levelno == logging.INFO
    line = access.getMessage()
    assert f'"POST {CHAT}" 200' in line and f"user={user_id}" in line
    assert "provider=openai" in line and "attempts=2" in line

    as_json = json.loads(JsonFormatter().format(access))
    assert as_json["request_id"] == "req-401-fallover" and as_json["status"] == 200
    assert as_json["provider"] == "openai" and as_json["attempts"] == 2 and as_json["user_id"] == user_id
    assert as_json["level"] == "info" and as_json["logger"] == "ideaforge.access"
    assert isinstance(as_json["latency_ms"], float)
    fallover_json = json.loads(JsonFormatter().format(next(r for r in mine if "falling over" in r.getMessage())))
    assert fallover_json["reason"] == "authentication" and fallover_json["to_provider"] == "openai"

    logs = caplog.text + "".join(JsonFormatter().format(r) for r in caplog.records)
    assert PROMPT not in logs and token not in logs
    for canary in CANARIES:
        assert canary not in logs


def test_an_open_circuit_is_one_warning_then_info_lines(
    tmp_path: Path, gateway: FakeAIGateway, openai: FakeAIGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ideaforge")
    container = observed_container(tmp_path, gateway, openai)
    gateway.state.chat_failures = [503] * 5
    with LiveServer(container) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        token = live.create_user("ada")
        for n in range(6):  # failures 2 + 2 + 1 open the circuit; then three requests skip it
            assert ask(client, token, **{"X-Request-Id": f"req-{n}"}).status_code == 200
    providers = [r for r in caplog.records if r.name == "ideaforge.providers"]
    opened = [r for r in providers if "is open after repeated failures" in r.getMessage()]
    assert len(opened) == 1 and opened[0].levelno == logging.WARNING
    assert "next probe in 30 s" in opened[0].getMessage()
    skips = [r for r in providers if getattr(r, "reason", None) == "circuit_open"]
    assert [r.request_id for r in skips] == ["req-2", "req-3", "req-4", "req-5"]  # type: ignore[attr-defined]
    assert {r.levelno for r in skips} == {logging.INFO}
