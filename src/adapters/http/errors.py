"""Map HTTP answers to domain errors for every wire format; the transport maps failures to get one.

Vendor response bodies are never echoed: they may repeat request headers or other secrets.
Only the status, an error code the vendor names, and what to check reach the message.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping

from ideaforge_gateway.domain.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderUnavailableError,
    RateLimitedError,
)
from ideaforge_gateway.domain.models import ProviderName

_LABELS = {
    ProviderName.AI_GATEWAY: "AI Gateway",
    ProviderName.OPENAI: "OpenAI",
    ProviderName.ANTHROPIC: "Anthropic",
    ProviderName.GEMINI: "Gemini",
}


# Vendors' documented error codes and types are words (`invalid_api_key`, `RESOURCE_EXHAUSTED`):
# letters and underscores only. Anything else may be an echo of what was sent, a key included.
_VENDOR_CODE = re.compile(r"^[A-Za-z][A-Za-z_]{0,63}$")


def vendor_code(value: object) -> str | None:
    """`value` if it is shaped like a vendor's error code, else None; never free text."""
    if value is None:
        return None
    text = str(value)
    return text if _VENDOR_CODE.match(text) else None


def provider_label(provider: ProviderName) -> str:
    return _LABELS[provider]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_status(
    provider: ProviderName,
    status: int,
    headers: Mapping[str, str],
    *,
    what: str,
    model: str | None = None,
    vendor_code: str | None = None,
    param: str | None = None,
) -> GatewayError:
    """The domain error for a non-success answer to `what` (e.g. "chat completion"); `headers`
    looks names up without regard to case, as httpx's and aiohttp's do. The vendor's code
    travels as the error's `vendor_code` (if documented), its `param` on an invalid request."""
    error = _error_for_status(provider, status, headers, what=what, model=model, vendor_code=vendor_code)
    if isinstance(error, InvalidRequestError) and error.param is None:
        error.param = param if param is not None and _PARAM.fullmatch(param) else None
    return error.with_vendor_code(vendor_code)


_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]]{0,63}")
"""A vendor's `param` as it names a request parameter (`messages[0].content`); nothing else is passed on."""


def _error_for_status(
    provider: ProviderName,
    status: int,
    headers: Mapping[str, str],
    *,
    what: str,
    model: str | None,
    vendor_code: str | None,
) -> GatewayError:
    label = provider_label(provider)
    code = f" ({vendor_code})" if vendor_code else ""
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 401:
        return AuthenticationError(
            f"{label} rejected the credentials for {what} (HTTP 401){code}: check the API key or client id and secret",
            provider=provider,
        )
    if status == 403:
        return PermissionDeniedError(
            f"{label} refused {what} (HTTP 403){code}: the credentials lack access"
            + (f" to model {model!r}" if model else ""),
            provider=provider,
        )
    if status == 404 and model:
        return ModelNotFoundError(f"{label} does not offer model {model!r} (HTTP 404){code}", provider=provider)
    if status == 429:
        wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
        limited = RateLimitedError(
            f"{label} rate-limited {what} (HTTP 429){code}{wait}",
            provider=provider,
            retry_after=retry_after,
        )
        limited.model_scoped = rate_limit_per_model(vendor_code)
        return limited
    if 300 <= status < 400:
        return ProviderUnavailableError(
            f"{label} answered {what} with a redirect (HTTP {status}), which is never followed with "
            "credentials: check the base URL",
            provider=provider,
        )
    if status >= 500 or status in (404, 408, 409, 425):
        # The upstream answered this request (for this model): the model's failure, not the credential's.
        return ProviderUnavailableError(
            f"{label} could not answer {what} (HTTP {status}){code}",
            provider=provider,
            retry_after=retry_after,
            model_scoped=True,
        )
    return InvalidRequestError(f"{label} refused {what} as invalid (HTTP {status}){code}", provider=provider)


_ACCOUNT_WIDE_LIMITS = frozenset({"insufficient_quota"})


def rate_limit_per_model(code: str | None) -> bool:
    """Whether a rate limit is the model's: OpenAI, Anthropic and Gemini set limits per model
    (their rate-limit guides), so a 429 says nothing of the credential's other models; an
    exhausted quota (OpenAI's `insufficient_quota`, billing) is the whole account's."""
    return code not in _ACCOUNT_WIDE_LIMITS


def malformed(provider: ProviderName, *, what: str) -> ProviderUnavailableError:
    return ProviderUnavailableError(f"{provider_label(provider)} sent a malformed {what}", provider=provider)


def incomplete_stream(provider: ProviderName) -> ProviderUnavailableError:
    """A stream whose body ended before the vendor's end of answer: never a clean finish."""
    return ProviderUnavailableError(
        f"{provider_label(provider)} stream ended before it was complete", provider=provider
    )


def stream_failure(
    provider: ProviderName,
    code: str | None,
    kinds: Mapping[str, type[GatewayError]],
    *,
    retry_after: float | None = None,
) -> GatewayError:
    """The domain error for an error event that arrives after a stream has begun: the vendor's
    `code` (an identifier, else "unknown") looked up in the format's `kinds`; any code it does
    not list (overloaded, internal, anything new) is the provider's unavailability. The code
    travels as the error's `vendor_code` when the vendors document it."""
    named = vendor_code(code) or "unknown"
    message = f"{provider_label(provider)} stream failed mid-way ({named})"
    kind = kinds.get(named, ProviderUnavailableError)
    if kind is RateLimitedError:
        limited = RateLimitedError(message, provider=provider, retry_after=retry_after)
        limited.model_scoped = rate_limit_per_model(named)
        return limited.with_vendor_code(named)
    if kind is ProviderUnavailableError:  # the model's answer failed: its breaker, not the credential's
        return ProviderUnavailableError(message, provider=provider, model_scoped=True).with_vendor_code(named)
    return kind(message, provider=provider).with_vendor_code(named)
