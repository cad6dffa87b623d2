"""The AI Gateway's deployment shape: one instance id (with an environment and, sometimes, a
region) names a host per model family.

Public code that calls the AI Gateway reaches it at
`https://{family}.{region.}{env}.ai-gateway.quantumblack.com/{instance_id}` (SPEC, evidence
section), with the families below. The template is configurable so that tests and private
deployments can point the derivation elsewhere (`http://127.0.0.1:8080/{family}/{env}/{instance_id}`).

Placeholders: `{family}`, `{env}`, `{instance_id}`, and `{region.}`, which is the region and a
dot, or nothing when no region is set. Any other `{...}` is refused, as are format specs and
conversions: a template is a URL with holes, not a Python format string. Every value is checked
before it is put in (an instance id may only hold letters, digits, `.`, `_`, `-`; an
environment and a region are DNS labels), so no value can add a path, a host or a query.
What comes out is a URL that the caller still checks as any other base URL.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from enum import StrEnum

from ideaforge_gateway.domain.errors import InvalidRequestError

DEFAULT_ROUTE_TEMPLATE = "https://{family}.{region.}{env}.ai-gateway.quantumblack.com/{instance_id}"
DEFAULT_ENV = "prod"
PLACEHOLDERS = ("family", "region.", "env", "instance_id")
DEFAULT_CATALOG_TEMPLATE = "https://api.{region.}{env}.ai-gateway.quantumblack.com/v1/catalog/models"
CATALOG_PLACEHOLDERS = ("region.", "env")
"""A catalog URL template names the deployment's catalog: an environment and a region, never a
family or instance (the instance goes in `X-Instance-Id`)."""

_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_TEMPLATE_LENGTH = 2048


class GatewayFamily(StrEnum):
    """A family of the AI Gateway's routes, named as its hosts name them."""

    OPENAI = "openai"
    """OpenAI-compatible; its API is under `/v1` of the family's route."""
    ANTHROPIC = "anthropic"
    """Anthropic's Messages API; the route is a bare origin, as `ANTHROPIC_BASE_URL`."""
    GEMINI = "google-gemini"
    """Gemini's API, as google-genai's `base_url` takes it (a bare origin)."""
    AZURE = "azure"
    """Azure OpenAI's deployment routes (`/openai/deployments/{model}/...?api-version=`)."""


@dataclass(frozen=True, slots=True)
class GatewayDeployment:
    """Where one AI Gateway instance lives: the values the template is filled with."""

    instance_id: str
    env: str = DEFAULT_ENV
    region: str | None = None
    template: str = DEFAULT_ROUTE_TEMPLATE

    def route(self, family: GatewayFamily) -> str:
        """The family's route, as given to the wire format (OpenAI's with `/v1`), no trailing
        slash. Assumes `check_deployment` passed."""
        url = render(self.template, family=family.value, env=self.env, region=self.region, instance_id=self.instance_id)
        return url + "/v1" if family is GatewayFamily.OPENAI else url

    def routes(self) -> dict[GatewayFamily, str]:
        return {family: self.route(family) for family in GatewayFamily}


def check_template(template: str, *, what: str = "route template") -> str:
    """`template`, stripped, or `InvalidRequestError` naming the problem (never the value)."""
    text = template.strip()
    if not text:
        raise InvalidRequestError(f"{what} must not be empty", param="route_template")
    if len(text) > MAX_TEMPLATE_LENGTH or not text.isascii() or not text.isprintable() or " " in text:
        raise InvalidRequestError(
            f"{what} must be printable ASCII with no spaces, at most {MAX_TEMPLATE_LENGTH} long", param="route_template"
        )
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        raise InvalidRequestError(
            f"{what} has an unmatched brace: write placeholders as {{family}}", param="route_template"
        ) from None
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name in PLACEHOLDERS and (spec or conversion):
            raise InvalidRequestError(
                f"{what} writes {{{name}}} with a format spec or conversion: write it plainly", param="route_template"
            )
        if name not in PLACEHOLDERS:
            shown = name if name.isascii() and len(name) <= 40 else "…"
            raise InvalidRequestError(
                f"{what} has an unknown placeholder {{{shown}}}: the known ones are {known}", param="route_template"
            )
    return text


def check_deployment(deployment: GatewayDeployment, *, what: str = "AI Gateway") -> GatewayDeployment:
    """`deployment` with its values normalised (env and region lower case, template stripped),
    or `InvalidRequestError` saying which value is wrong and what it may hold."""
    return GatewayDeployment(
        instance_id=check_instance_id(deployment.instance_id, what=what),
        env=check_env(deployment.env, what=what),
        region=check_region(deployment.region, what=what),
        template=check_template(deployment.template, what=f"{what} route template"),
    )


def check_instance_id(value: str, *, what: str = "AI Gateway") -> str:
    instance_id = value.strip()
    if not _INSTANCE_ID.match(instance_id):
        raise InvalidRequestError(
            f"{what} instance id must be 1 to 128 letters, digits, '.', '_' or '-' (as the id the AI Gateway shows)",
            param="instance_id",
        )
    return instance_id


def check_env(value: str, *, what: str = "AI Gateway") -> str:
    env = value.strip().lower()
    if not _LABEL.match(env):
        raise InvalidRequestError(
            f"{what} environment must be a name such as prod or dev (letters, digits, '-')", param="env"
        )
    return env


def check_region(value: str | None, *, what: str = "AI Gateway") -> str | None:
    region = value.strip().lower() if value else None
    if region is not None and not _LABEL.match(region):
        raise InvalidRequestError(
            f"{what} region must be a name such as us or eu (letters, digits, '-'), or none", param="region"
        )
    return region


def sample_routes(template: str) -> list[tuple[GatewayFamily, str]]:
    """`template`'s routes for a sample instance, with and without a region: the URL shapes
    it makes, to check as base URLs (the values put in cannot change a URL's scheme or host
    structure, only its labels and path segments)."""
    return [
        (family, GatewayDeployment("instance", DEFAULT_ENV, region, template).route(family))
        for region in (None, "eu")
        for family in GatewayFamily
    ]


def catalog_placeholders(template: str) -> set[str]:
    """The placeholders `template` (checked by `check_template`) uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def catalog_url(template: str, *, env: str, region: str | None) -> str:
    """The catalog's URL for a deployment in `env` and `region`: `template` (whose placeholders
    are `CATALOG_PLACEHOLDERS` only) filled in."""
    return render(template, family="", env=env, region=region, instance_id="")


def render(template: str, *, family: str, env: str, region: str | None, instance_id: str) -> str:
    """`template` filled in, without a trailing slash."""
    values = {"family": family, "env": env, "region.": f"{region}." if region else "", "instance_id": instance_id}
    out: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values[name])
    return "".join(out).rstrip("/")
