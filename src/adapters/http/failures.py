"""What went wrong with one call through the transport, as the domain's errors.

The transport (`transport.py`) names each call (whose, what, to which host) and raises what
this module makes of a failure: no answer at all (refused, reset, timed out, blocked by the
public-only guard), an answer too large to read, or one that is not what was asked for.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass

import aiohttp

from ideaforge_gateway.adapters.http.errors import malformed, provider_label
from ideaforge_gateway.adapters.http.public_only import BlockedAddressError, blocked_by_resolver
from ideaforge_gateway.domain.errors import (
    ConfigurationError,
    GatewayError,
    InvalidRequestError,
    ProviderUnavailableError,
)
from ideaforge_gateway.domain.models import ProviderName

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallFailure:
    """Names failures of one call: whose, what, to which host."""

    provider: ProviderName
    what: str
    host: str

    def malformed(self, what: str) -> ProviderUnavailableError:
        return malformed(self.provider, what=what)

    def transport(self, exc: BaseException) -> GatewayError:
        """The domain error for a request that got no usable answer."""
        label = provider_label(self.provider)
        blocked = exc if isinstance(exc, BlockedAddressError) else blocked_by_resolver(exc, self.host)
        if blocked is not None:
            return ConfigurationError(
                f"{label} {self.what} refused: {blocked}; user-supplied URLs must be https and reach public addresses",
                provider=self.provider,
            )
        if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
            return InvalidRequestError(f"{label} base URL is not an http(s) URL", provider=self.provider)
        looks_down = False  # no connection could be made at all: the next provider is a better try
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            reason, looks_down = self._certificate(exc), True
        elif isinstance(exc, aiohttp.ClientProxyConnectionError):
            reason, looks_down = f"could not connect to the egress proxy on the way to {self.host}", True
        elif isinstance(exc, aiohttp.ClientHttpProxyError):
            reason = f"the egress proxy refused the connection to {self.host} (HTTP {exc.status})"
            looks_down = True
        elif isinstance(exc, aiohttp.ClientConnectorError):
            cause = getattr(exc, "os_error", None)
            refused = isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
            reason = f"could not connect to {self.host}" + (": connection refused" if refused else "")
            looks_down = True
        elif isinstance(exc, aiohttp.ConnectionTimeoutError):
            reason, looks_down = f"timed out connecting to {self.host}", True
        elif isinstance(exc, aiohttp.SocketTimeoutError):
            reason = "timed out waiting for data"
        elif isinstance(exc, TimeoutError):
            reason = "timed out"
        elif isinstance(exc, aiohttp.ServerDisconnectedError):
            # Closed before answering, or mid-way: no answer, like a connection that never came.
            reason, looks_down = f"{self.host} closed the connection without a complete answer", True
        elif isinstance(exc, aiohttp.ClientPayloadError):
            reason = "the answer was cut short"
        elif isinstance(exc, aiohttp.ClientResponseError):
            reason = "the answer was not valid HTTP"
        elif isinstance(exc, aiohttp.ClientOSError):
            reason, looks_down = "the connection failed (reset)", True
        else:
            reason = "the connection failed"
        return ProviderUnavailableError(
            f"{label} {self.what} failed: {reason}",
            provider=self.provider,
            looks_down=looks_down,
        )

    def _certificate(self, exc: aiohttp.ClientConnectorCertificateError) -> str:
        """The certificate failure in words, logged at warning: an operator must act on it."""
        cause = exc.certificate_error
        detail = getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or type(cause).__name__
        reason = (
            f"certificate verify failed for {self.host}: {detail}; if {self.host} uses a private CA, "
            "set IDEAFORGE_CA_BUNDLE (or SSL_CERT_FILE)"
        )
        log.warning("%s %s", provider_label(self.provider), reason)
        return reason

    def unsendable(self) -> ProviderUnavailableError:
        """A request aiohttp would not send: a header value (a credential) that no HTTP header can
        carry. Nothing was sent and asking again would fail alike (`looks_down`); another
        provider may answer."""
        return ProviderUnavailableError(
            f"{provider_label(self.provider)} {self.what} failed: a credential or header value cannot be sent "
            "in an HTTP header (it holds a line break or other forbidden character)",
            provider=self.provider,
            looks_down=True,
        )

    def too_large(self, limit: int) -> ProviderUnavailableError:
        return ProviderUnavailableError(
            f"{provider_label(self.provider)} {self.what} failed: the answer is too large (over {limit} bytes; "
            "IDEAFORGE_MAX_RESPONSE_BYTES sets the bound)",
            provider=self.provider,
        )
