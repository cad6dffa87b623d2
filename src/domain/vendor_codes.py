"""The vendors' error codes and types this product repeats in a message; anything else is withheld.

A vendor's error code is echoed into messages, attempts, logs and the stored
`last_verification_error`. An upstream (a user's own base URL, say) may answer with any word as
its "code", a credential it was sent included; so only the codes the vendors document pass.
Sources: OpenAI's error object and codes (NOTES-vendors.md section 9), Anthropic's error types,
Google's canonical status names and API-key reasons, OAuth 2.0 (RFC 6749 5.2, RFC 8707 `invalid_target`).
"""

from __future__ import annotations

import re

KNOWN_VENDOR_CODES = frozenset(
    {
        # OpenAI: types and codes.
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "rate_limit_error",
        "api_error",
        "server_error",
        "invalid_api_key",
        "invalid_organization",
        "model_not_found",
        "insufficient_quota",
        "rate_limit_exceeded",
        "slow_down",
        "context_length_exceeded",
        "credit_balance_exhausted",
        "organization_spend_limit_exceeded",
        "project_spend_limit_exceeded",
        "organization_usage_limit_exceeded",
        "unsupported_parameter",
        "unsupported_value",
        "invalid_value",
        "invalid_type",
        "content_policy_violation",
        "unsupported_country_region_territory",
        "engine_overloaded",
        # Anthropic: error types.
        "billing_error",
        "conflict_error",
        "request_too_large",
        "timeout_error",
        "overloaded_error",
        # Google: canonical statuses and API-key reasons.
        "INVALID_ARGUMENT",
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "NOT_FOUND",
        "ABORTED",
        "ALREADY_EXISTS",
        "RESOURCE_EXHAUSTED",
        "CANCELLED",
        "DATA_LOSS",
        "UNKNOWN",
        "INTERNAL",
        "UNIMPLEMENTED",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "API_KEY_INVALID",
        "API_KEY_EXPIRED",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "RATE_LIMIT_EXCEEDED",
        "SERVICE_DISABLED",
        # OAuth 2.0 token endpoint errors.
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_target",
        "access_denied",
        "temporarily_unavailable",
    }
)

WITHHELD = "(vendor code withheld)"
_CODE_IN_MESSAGE = re.compile(r"(?<= )\(([A-Za-z][A-Za-z0-9_.-]{0,127})\)")
"""How adapters name a code in a message: one word in parentheses after a space, e.g.
` (invalid_api_key)` (not the `(s)` of "http(s)")."""


def withhold_unknown_codes(message: str) -> str:
    """`message` with every parenthesised code that is not a known vendor code replaced by
    `WITHHELD`: a code that is really an echoed credential never reaches a message."""
    return _CODE_IN_MESSAGE.sub(lambda m: m.group(0) if m.group(1) in KNOWN_VENDOR_CODES else WITHHELD, message)
