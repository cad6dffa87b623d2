"""What the gateway tells its operators: the fallback chain's attempts, fallovers and answers,
and the token sources' refreshes, for metrics, traces, logs and the providers' health view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ProviderName, Usage
from ideaforge_gateway.domain.policies.circuit_breaker import BreakerState


@dataclass(frozen=True, slots=True)
class AttemptReport:
    """One try at one provider, as it ended.

    `outcome` is `ok`, an error kind (`unavailable`, `rate_limited`, `authentication`, ...),
    `circuit_open` (skipped without a call) or `deadline`. Times are `time.monotonic()` seconds.
    `breaker` is the circuit this attempt went through after it was counted: the credential's
    and the model's on it, the worse of the two; `credential_breaker` is the credential's own
    (for per-credential views such as metrics; None: the same as `breaker`). `retry_at` is
    when an open circuit lets its next probe through (None while it is not open).
    """

    provider: ProviderName
    model: str
    credentials: ProviderCredentials
    outcome: str
    error: GatewayError | None
    started: float
    duration: float
    breaker: BreakerState
    retry_at: float | None = None
    credential_breaker: BreakerState | None = None


class GenerationObserver(Protocol):
    """Hears about one generation (one request through the chain), in this order: any number of
    `attempt` and `fell_over` calls, `first_content` once if a stream's content began, then
    `finished` exactly once. Calls are made on the request's own task and must not block."""

    def attempt(self, report: AttemptReport) -> None: ...

    def fell_over(self, from_provider: ProviderName, to_provider: ProviderName, reason: str) -> None:
        """The chain leaves `from_provider` for `to_provider`; `reason` is the error kind (or
        `circuit_open`) that ended `from_provider`'s turn."""

    def first_content(self, provider: ProviderName, model: str, elapsed: float) -> None:
        """A stream's first content, `elapsed` seconds after the generation began."""

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
        """The generation ended: answered by `provider` (with `usage` if it said), or failed with
        `error`; `elapsed` seconds after it began (for a stream, when the stream ended)."""


class Telemetry(Protocol):
    """Receives what happens on the request path and turns it into metrics, spans or log lines.

    - Never raises into the caller, never blocks on I/O (exporters batch in the background).
    - Never records a secret: credentials are passed so that an adapter can name them by a
      keyed label (`ProviderCredentials.label`), never by their value; no prompt or answer text.
    - Cheap: an adapter with nothing to do returns at once; the chain calls it a few times per
      request.
    """

    def generation(self, *, stream: bool) -> GenerationObserver:
        """An observer for one generation that begins now."""
        ...

    def token_refresh(self, provider: ProviderName, outcome: str) -> None:
        """A token source asked for a new token: `ok`, `failed`, or `stale` (failed, and the
        cached token, still valid, is used until it expires)."""
