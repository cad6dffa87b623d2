"""Rules every credential a user supplies must pass, whether it is stored or only verified."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.policies.base_url import check_user_base_url
from ideaforge_gateway.domain.policies.gateway_routes import (
    DEFAULT_ENV,
    DEFAULT_ROUTE_TEMPLATE,
    GatewayDeployment,
    check_deployment,
)
from ideaforge_gateway.domain.policies.model_selection import check_model_id


def validate_user_credentials(credentials: ProviderCredentials, *, allow_private: bool) -> ProviderCredentials:
    """The credentials, normalised, or `InvalidRequestError` saying what is wrong.

    - The API key (or client id) must not be empty; the AI Gateway also needs a client secret.
    - Base and token URLs must pass the user base-URL policy (https, public addresses) unless
      the operator allows private addresses; blank ones mean "the default".
    - An AI Gateway instance id, environment, region and route template must pass
      `check_deployment`; the environment, region and template mean nothing without an instance
      id and are refused without one. A template of the user's own must give, for every family,
      a URL that passes the base-URL policy (the operator's template is trusted, and the values
      put into it cannot add a host, path or query).
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
    changes.update(_deployment_changes(credentials, allow_private=allow_private))
    if credentials.default_model is not None and not credentials.default_model.strip():
        changes["default_model"] = None
    elif credentials.default_model is not None:
        try:
            check_model_id(credentials.default_model, param="default_model")
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"{name}: {exc.message}", provider=provider, param=exc.param) from None
    return replace(credentials, **changes) if changes else credentials


def check_user_deployment(
    provider: ProviderName,
    instance_id: str | None,
    env: str | None,
    region: str | None,
    template: str | None,
) -> GatewayDeployment | None:
    """The deployment these values give (blank means unset; the template left unset is the
    default here), None without an instance id, or `InvalidRequestError` naming the value at
    fault. The environment, region and template mean nothing without an instance id, and only
    the AI Gateway has one: both are refused rather than dropped."""
    name = provider.value

    def given(value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    instance_id, env, region, template = given(instance_id), given(env), given(region), given(template)
    if instance_id is None:
        named = ((env, "environment"), (region, "region"), (template, "route template"))
        extras = [label for value, label in named if value is not None]
        if extras:
            raise InvalidRequestError(
                f"{name}: the {' and '.join(extras)} {'apply' if len(extras) > 1 else 'applies'} only with an "
                "instance id: give the instance id too",
                provider=provider,
                param="instance_id",
            )
        return None
    if provider is not ProviderName.AI_GATEWAY:
        raise InvalidRequestError(
            f"{name}: an instance id is the AI Gateway's, not {name}'s", provider=provider, param="instance_id"
        )
    try:
        return check_deployment(
            GatewayDeployment(instance_id, env or DEFAULT_ENV, region, template or DEFAULT_ROUTE_TEMPLATE),
            what=f"{name}: the",
        )
    except InvalidRequestError as exc:
        raise InvalidRequestError(exc.message, provider=provider, param=exc.param) from None


def _deployment_changes(credentials: ProviderCredentials, *, allow_private: bool) -> dict[str, Any]:
    """The normalised deployment fields, or `InvalidRequestError` naming the one at fault."""
    provider = credentials.provider
    template = credentials.route_template.strip() if credentials.route_template else None
    deployment = check_user_deployment(provider, credentials.instance_id, credentials.env, credentials.region, template)
    if deployment is None:
        return {"instance_id": None, "env": None, "region": None, "route_template": None}
    if template:
        for family, url in deployment.routes().items():
            try:
                check_user_base_url(url, allow_private=allow_private)
            except InvalidRequestError as exc:
                message = exc.message.replace("base URL", f"the URL the route template gives for {family.value}")
                raise InvalidRequestError(
                    f"{provider.value}: {message}", provider=provider, param="route_template"
                ) from None
    return {
        "instance_id": deployment.instance_id,
        "env": deployment.env,
        "region": deployment.region,
        "route_template": deployment.template if template else None,
    }


_DESTINATION = (
    ("base_url", "base URL"),
    ("token_url", "token URL"),
    ("auth_method", "auth method"),
    ("instance_id", "instance id"),
    ("env", "environment"),
    ("region", "region"),
    ("route_template", "route template"),
)
"""The fields that decide where a stored secret is sent (issue 18: a stored secret is only ever
sent to the destination it was stored with). The deployment fields derive the routes."""
_UNSET_MEANS = {"env": DEFAULT_ENV}
_CASELESS = frozenset({"env", "region"})


def _same(field: str, given: object, stored: object) -> bool:
    def norm(value: object) -> object:
        if isinstance(value, str):
            value = value.strip().rstrip("/") or None
        if value is None:
            value = _UNSET_MEANS.get(field)
        return value.lower() if isinstance(value, str) and field in _CASELESS else value

    return norm(given) == norm(stored)


def keep_stored_secrets(given: ProviderCredentials, stored: StoredCredential | None) -> ProviderCredentials:
    """`given` with its left-out client id (empty) and client secret (None) taken from `stored`,
    or `InvalidRequestError` when the destination changed.

    - Nothing is kept from a credential that cannot be read, or from none: the usual "must not
      be empty" rules then apply.
    - A stored secret is kept only for the same client id (a new account brings its own secret).
    - Nothing stored is kept when the base URL, token URL, auth method or AI Gateway deployment
      (instance id, environment, region, route template) differ from the stored ones (a
      left-out URL means the default, which is a change too): the error names the
      fields that changed and asks for the secret again (`param` "client_secret").
    """
    current = stored.credentials if stored is not None else None
    if current is None or given.provider is not current.provider:
        return given
    id_missing = not given.api_key.get_secret_value()
    api_key = current.api_key if id_missing else given.api_key
    secret_missing = given.client_secret is None and current.client_secret is not None
    if secret_missing and api_key.get_secret_value() != current.api_key.get_secret_value():
        return given  # another account: its secret is required by the usual rules
    if not (id_missing or secret_missing):
        return given
    changed = [
        label for field, label in _DESTINATION if not _same(field, getattr(given, field), getattr(current, field))
    ]
    if changed:
        name = given.provider.value
        missing = [what for what, gone in (("client id", id_missing), ("client secret", secret_missing)) if gone]
        raise InvalidRequestError(
            f"{name}: the {' and '.join(missing)} must be given again because the {' and '.join(changed)} changed: "
            "a stored secret is only ever sent to the destination it was stored with",
            provider=given.provider,
            param="client_secret" if secret_missing else "client_id",
        )
    secret = current.client_secret if secret_missing else given.client_secret
    return replace(given, api_key=api_key, client_secret=secret)
