"""The rules of the AI Gateway's deployment settings (`AI_GATEWAY_INSTANCE_ID`, `_ENV`, `_REGION`,
`_ROUTE_TEMPLATE`, `_AZURE_API_VERSION`) and the URL rule every base-URL setting shares.

Each rule returns the value normalised or raises `ValueError` with a message that never repeats
the value: pydantic reports it under the variable's name, and the Python API under its argument's.
The values' own rules are the domain's (`gateway_routes.py`); a route template must also give, for
every family, a URL that the base-URL settings would accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.policies.gateway_routes import (
    CATALOG_PLACEHOLDERS,
    catalog_placeholders,
    catalog_url,
    check_env,
    check_instance_id,
    check_region,
    check_template,
    sample_routes,
)

_R = TypeVar("_R")


def http_url(value: str) -> str:
    """`value` without a trailing slash: an http(s) URL with a host and no credentials."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError("must be an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password: credentials have settings of their own")
    return value.rstrip("/")


def instance_id(value: str | None) -> str | None:
    return None if value is None else _domain(check_instance_id, value)


def env(value: str) -> str:
    return _domain(check_env, value)


def region(value: str | None) -> str | None:
    return _domain(check_region, value)


def route_template(value: str) -> str:
    """Known placeholders only, and every URL it can make one that `http_url` accepts."""
    template = _domain(check_template, value, "the route template")
    for family, url in sample_routes(template):
        try:
            http_url(url)
        except ValueError as exc:
            raise ValueError(f"the URL it gives for {family.value} {exc}") from None
    return template


def catalog_template(value: str) -> str:
    """An http(s) URL that may hold `{env}` and `{region.}` (filled with a deployment's values:
    the environment's, or a user's instance's), no other placeholder."""
    template = _domain(check_template, value, "the catalog URL")
    if not catalog_placeholders(template) <= set(CATALOG_PLACEHOLDERS):
        raise ValueError("may hold only the placeholders {env} and {region.}")
    for region_value in (None, "eu"):
        http_url(catalog_url(template, env="prod", region=region_value))
    return template.rstrip("/")


def azure_api_version(value: str) -> str:
    text = value.strip()
    if not text or len(text) > 40 or not all(c.isascii() and (c.isalnum() or c in "-._") for c in text):
        raise ValueError("must be an Azure OpenAI api-version such as 2024-10-21 or 2024-04-01-preview")
    return text


DEPLOYMENT_RULES: dict[str, Callable[[str], object]] = {
    "instance_id": instance_id,
    "env": env,
    "region": region,
    "route_template": route_template,
    "azure_api_version": azure_api_version,
}
"""Each rule by its setting's name without the `ai_gateway_` prefix."""


def _domain(check: Callable[..., _R], value: object, what: str = "the") -> _R:
    """A domain check's result; its `InvalidRequestError` becomes the `ValueError` pydantic reports."""
    try:
        return check(value, what=what)
    except InvalidRequestError as exc:
        raise ValueError(exc.message.strip()) from None
