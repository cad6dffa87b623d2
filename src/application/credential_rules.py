"""Rules every credential a user supplies must pass, whether it is stored or only verified."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.policies.base_url import check_user_base_url
from ideaforge_gateway.domain.policies.model_selection import check_model_id


def validate_user_credentials(credentials: ProviderCredentials, *, allow_private: bool) -> ProviderCredentials:
    """The credentials, normalised, or `InvalidRequestError` saying what is wrong.

    - The API key (or client id) must not be empty; the AI Gateway also needs a client secret.
    - Base and token URLs must pass the user base-URL policy (https, public addresses) unless
      the operator allows private addresses; blank ones mean "the default".
    """
    provider = credentials.provider
    name = provider.value
    if not credentials.api_key.get_secret_value().strip():
        what = "client id" if provider is ProviderName.AI_GATEWAY else "API key"
        raise InvalidRequestError(f"{name}: the {what} must not be empty", provider=provider)
    if provider is ProviderName.AI_GATEWAY and (
        credentials.client_secret is None or not credentials.client_secret.get_secret_value().strip()
    ):
        raise InvalidRequestError(f"{name}: the client secret must not be empty", provider=provider)
    for label, secret in (("API key or client id", credentials.api_key), ("client secret", credentials.client_secret)):
        value = secret.get_secret_value() if secret is not None else ""
        if not (value.isascii() and value.isprintable()):
            # It could never be sent in a header; say so now rather than fail on every request.
            raise InvalidRequestError(
                f"{name}: the {label} holds characters that are not printable ASCII", provider=provider
            )
    changes: dict[str, Any] = {}
    for field, label in (("base_url", "base URL"), ("token_url", "token URL")):
        value = getattr(credentials, field)
        if value is None:
            continue
        if not value.strip():
            changes[field] = None
            continue
        try:
            changes[field] = check_user_base_url(value, allow_private=allow_private)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"{name}: {exc.message.replace('base URL', label)}", provider=provider) from None
    if credentials.default_model is not None and not credentials.default_model.strip():
        changes["default_model"] = None
    elif credentials.default_model is not None:
        try:
            check_model_id(credentials.default_model, param="default_model")
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"{name}: {exc.message}", provider=provider, param=exc.param) from None
    return replace(credentials, **changes) if changes else credentials
