"""OpenTelemetry traces of generations: a span per request, a child span per attempt.

- The request span (`gateway chat`, kind SERVER) carries `gen_ai.operation.name`, the answering
  `gen_ai.provider.name` (and the older `gen_ai.system`), `gen_ai.response.model`, token usage,
  finish reasons, `ideaforge.request_id` and an event per fallover (from, to, reason).
- Each attempt span (`chat {model}`, kind CLIENT) carries the provider, `gen_ai.request.model`,
  `ideaforge.credential` (the credential's label, never its value), `ideaforge.attempt.outcome`,
  and when it failed `error.type` and `ideaforge.fallback.reason`; the successful attempt's span
  lasts until the answer ends and carries `gen_ai.usage.input_tokens` / `output_tokens` and
  `gen_ai.response.finish_reasons`.
- No prompt or answer text is ever recorded, nor any secret: messages come from the domain's
  errors, which hold neither.

Spans are built from the chain's reports (with their own start and end times), so nothing is
attached to the running context: a stream's generator may be resumed on any task.
This module imports only the OpenTelemetry API; the SDK is set up by `otel_setup`, and only
when the operator configured an exporter.
"""

from __future__ import annotations

import time

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from ideaforge_gateway.adapters.observability import request_context
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ProviderName, Usage
from ideaforge_gateway.domain.ports.telemetry import AttemptReport, GenerationObserver, Telemetry

_CHAT = "chat"


class _GenerationSpans(GenerationObserver):
    def __init__(self, tracer: Tracer, label_key: bytes, *, stream: bool) -> None:
        self._tracer = tracer
        self._label_key = label_key
        # Reports carry monotonic seconds; spans want Unix nanoseconds.
        self._offset_ns = time.time_ns() - time.monotonic_ns()
        context = request_context.current()
        self._span = tracer.start_span(
            "gateway chat",
            kind=SpanKind.SERVER,
            attributes={
                "gen_ai.operation.name": _CHAT,
                "ideaforge.stream": stream,
                "ideaforge.request_id": context.request_id if context is not None else "",
            },
        )
        self._parent = trace.set_span_in_context(self._span)
        self._answered: tuple[Span, AttemptReport] | None = None

    def _ns(self, monotonic: float) -> int:
        return int(monotonic * 1e9) + self._offset_ns

    def attempt(self, report: AttemptReport) -> None:
        span = self._tracer.start_span(
            f"{_CHAT} {report.model}",
            context=self._parent,
            kind=SpanKind.CLIENT,
            start_time=self._ns(report.started),
            attributes={
                "gen_ai.operation.name": _CHAT,
                "gen_ai.provider.name": report.provider.value,
                "gen_ai.system": report.provider.value,
                "gen_ai.request.model": report.model,
                "ideaforge.credential": report.credentials.label(self._label_key),
                "ideaforge.attempt.outcome": report.outcome,
                "ideaforge.circuit_breaker.state": report.breaker.value,
            },
        )
        if report.outcome == "ok":
            self._answered = (span, report)  # ended with the answer, which brings usage
            return
        span.set_attribute("error.type", report.outcome)
        span.set_attribute("ideaforge.fallback.reason", report.outcome)
        span.set_status(Status(StatusCode.ERROR, report.error.message if report.error else report.outcome))
        span.end(end_time=self._ns(report.started + report.duration))

    def fell_over(self, from_provider: ProviderName, to_provider: ProviderName, reason: str) -> None:
        self._span.add_event(
            "ideaforge.fallover",
            {"ideaforge.from_provider": from_provider.value, "ideaforge.to_provider": to_provider.value,
             "ideaforge.fallback.reason": reason},
        )  # fmt: skip

    def first_content(self, provider: ProviderName, model: str, elapsed: float) -> None:
        self._span.set_attribute("ideaforge.time_to_first_token_s", elapsed)

    def finished(
        self,
        *,
        provider: ProviderName | None,
        model: str | None,
        usage: Usage | None,
        finish_reason: str | None,
        error: GatewayError | None,
        elapsed: float,
    ) -> None:
        answer: dict[str, str | int | list[str]] = {}
        if provider is not None:
            answer["gen_ai.provider.name"] = answer["gen_ai.system"] = provider.value
        if model is not None:
            answer["gen_ai.response.model"] = model
        if usage is not None:
            answer["gen_ai.usage.input_tokens"] = usage.prompt_tokens
            answer["gen_ai.usage.output_tokens"] = usage.completion_tokens
        if finish_reason is not None:
            answer["gen_ai.response.finish_reasons"] = [finish_reason]
        if self._answered is not None:
            span, _ = self._answered
            span.set_attributes(answer)
            if error is not None:
                span.set_attribute("error.type", error.kind)
                span.set_status(Status(StatusCode.ERROR, error.message))
            span.end()
        self._span.set_attributes(answer)
        if error is not None:
            self._span.set_attribute("error.type", error.kind)
            self._span.set_status(Status(StatusCode.ERROR, error.message))
        self._span.end()


class OpenTelemetryTelemetry(Telemetry):
    """Spans through `tracer`; `label_key` keys the credential labels."""

    def __init__(self, tracer: Tracer, *, label_key: bytes) -> None:
        self._tracer = tracer
        self._label_key = label_key

    def generation(self, *, stream: bool) -> GenerationObserver:
        return _GenerationSpans(self._tracer, self._label_key, stream=stream)

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        pass
