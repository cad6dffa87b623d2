"""OpenTelemetry's SDK, set up from the standard variables, only when the operator asked.

Traces are exported when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
is set (and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`): OTLP over HTTP,
batched in the background; the exporter and `Resource` read the other `OTEL_*` variables
themselves (headers, timeouts, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`). The SDK is
imported here only, so a gateway without tracing never loads it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger("ideaforge.telemetry")
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracing_configured(environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _ENDPOINTS)


def tracer_provider_from_environment() -> TracerProvider | None:
    """A tracer provider exporting over OTLP/HTTP, or None (with a warning saying how to get
    one) when the `otel` extra is not installed."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_* is set but OpenTelemetry's SDK is not installed: no traces are exported; "
            "install the gateway with its `otel` extra (pip install 'ideaforge-gateway[otel]')"
        )
        return None
    default = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "ideaforge-gateway"}
    provider = TracerProvider(resource=Resource.create(default))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
