"""The error taxonomy: what failed, at which provider, and whether another provider may answer.

Adapters map every vendor failure to exactly one of these, so that the fallback chain decides on
types, never on status numbers. Messages say what happened and what to check; they never carry a
secret, and never echo a vendor's response body; a vendor code in a provider's error survives
only if the vendors document it (`domain.vendor_codes`).
"""

from __future__ import annotations

from ideaforge_gateway.domain.models import Attempt, ProviderName
from ideaforge_gateway.domain.vendor_codes import KNOWN_VENDOR_CODES, withhold_unknown_codes


class GatewayError(Exception):
    """Base of every error this product raises on purpose.

    `may_fall_over` says whether another provider could answer the same request.
    `counts_against_provider` says whether it is evidence that the provider is unhealthy.
    """

    may_fall_over: bool = True
    counts_against_provider: bool = False
    model_scoped: bool = False
    """Whether it is evidence against the model asked for rather than the provider credential:
    the upstream answered that model's request with a failure (5xx, an in-band error event, a
    per-model rate limit), or does not offer the model. The chain's breakers count it against
    that model only (issue 13, case 9)."""
    vendor_code: str | None = None
    """The vendor's own error code (`context_length_exceeded`), set by `with_vendor_code`."""

    def __init__(self, message: str, *, provider: ProviderName | None = None) -> None:
        if provider is not None:
            # The one choke point for vendor codes: every provider error is built here, and a
            # code the vendors do not document may be a credential echoed back (issue 18, case 7).
            message = withhold_unknown_codes(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.attempts: tuple[Attempt, ...] = ()
        """The attempts made before giving up, when the error ends a generation."""

    @property
    def kind(self) -> str:
        """A stable name for logs, JSON and the attempts record."""
        # The nearest known class names it, so subclasses keep their family's kind.
        return next(_KINDS[c] for c in type(self).__mro__ if c in _KINDS)

    def __str__(self) -> str:
        return self.message

    def with_vendor_code(self, code: str | None) -> GatewayError:
        """This error, carrying `code` as its `vendor_code` when the vendors document it: the same
        allow-list as codes in messages, since an undocumented one may be an echoed credential."""
        if code in KNOWN_VENDOR_CODES:
            self.vendor_code = code
        return self


class AuthenticationError(GatewayError):
    """The provider rejected the credentials (HTTP 401, OAuth `invalid_client`...)."""


class PermissionDeniedError(GatewayError):
    """The credentials are valid but may not do this (HTTP 403)."""


class RateLimitedError(GatewayError):
    """The provider asked us to slow down (HTTP 429); `retry_after` seconds if it said."""

    counts_against_provider = True

    def __init__(self, message: str, *, provider: ProviderName | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class ProviderUnavailableError(GatewayError):
    """The provider could not answer: 5xx, timeout, refused or reset connection, malformed reply.

    `looks_down` says no connection could be made at all, or no answer came within the attempt's
    share of the deadline: another provider is a better next try than the same one again.
    """

    counts_against_provider = True

    def __init__(
        self,
        message: str,
        *,
        provider: ProviderName | None = None,
        retry_after: float | None = None,
        looks_down: bool = False,
        model_scoped: bool = False,
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after
        self.looks_down = looks_down
        self.model_scoped = model_scoped


class ModelNotFoundError(GatewayError):
    """The provider does not offer the requested model."""

    model_scoped = True


class ModelNotOfferedError(ModelNotFoundError):
    """The AI Gateway instance's catalog does not list the requested model: the chain asks the
    next provider without calling this one."""


class PolicyRefusedError(GatewayError):
    """An operator's policy forbids this model at this provider (AI_GATEWAY_MAX_CLASSIFICATION):
    the chain asks the next provider without calling this one; alone, a 403 naming the policy."""


class InvalidRequestError(GatewayError):
    """The request itself is wrong; every provider would refuse it, so nothing falls over.

    `param` names the request parameter at fault, when one is (OpenAI's error `param`)."""

    may_fall_over = False

    def __init__(self, message: str, *, provider: ProviderName | None = None, param: str | None = None) -> None:
        super().__init__(message, provider=provider)
        self.param = param


class UnsupportedParameterError(InvalidRequestError):
    """A provider's API has no equivalent for parameter `param`; another provider may have one.

    The fallback chain skips such a provider, recording why, and asks the next the same
    question; when no provider can, this error (a 400 naming `param`) ends the request."""

    may_fall_over = True


class ConfigurationError(GatewayError):
    """This product is configured in a way that cannot work; an operator must change it."""


class UnknownUserError(ConfigurationError):
    """A user id names no user of this gateway, or a revoked one: nothing is answered for it,
    not even with the environment's credentials."""

    def __init__(self, user_id: str, *, revoked: bool = False) -> None:
        state = "has been revoked" if revoked else "does not exist"
        super().__init__(
            f"user {user_id!r} {state}: use the id of an active user "
            "(`ideaforge users list`; create one with `ideaforge users create NAME`)"
        )
        self.user_id = user_id


class StreamInterruptedError(GatewayError):
    """A stream failed after content had been delivered; it cannot be retried elsewhere."""

    may_fall_over = False


class CredentialUnreadableError(GatewayError):
    """A stored credential cannot be decrypted (key lost or value tampered with).

    The user must configure that provider again; other users and providers are unaffected.
    """


_KINDS: dict[type[GatewayError], str] = {
    GatewayError: "error",
    AuthenticationError: "authentication",
    PermissionDeniedError: "permission_denied",
    RateLimitedError: "rate_limited",
    ProviderUnavailableError: "unavailable",
    ModelNotFoundError: "model_not_found",
    ModelNotOfferedError: "model_not_offered",
    PolicyRefusedError: "policy_refused",
    InvalidRequestError: "invalid_request",
    ConfigurationError: "configuration",
    UnknownUserError: "unknown_user",
    StreamInterruptedError: "stream_interrupted",
    CredentialUnreadableError: "needs_reconfiguration",
}
