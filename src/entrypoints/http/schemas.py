"""Request and response bodies of the seed's API (`/api`), exactly as the seed names them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ideaforge_gateway.domain.credentials import AuthMethod
from ideaforge_gateway.domain.models import ProviderName, Tier

_TEXT = 4096


class VerifyBody(BaseModel):
    """The seed's body. Without `api_key`, the user's stored (or the environment's) credentials
    are verified instead."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName
    api_key: SecretStr | None = Field(default=None, max_length=_TEXT, description="Client id, or the API key.")
    client_secret: SecretStr | None = Field(default=None, max_length=_TEXT)
    base_url: str | None = Field(default=None, max_length=2048)
    auth_method: AuthMethod | None = Field(default=None, description="AI Gateway auth method (default: the server's).")
    instance_id: str | None = Field(default=None, max_length=200, description="AI Gateway instance id.")
    env: str | None = Field(default=None, max_length=64, description="AI Gateway environment (default prod).")
    region: str | None = Field(default=None, max_length=64, description="AI Gateway region, if any.")
    route_template: str | None = Field(default=None, max_length=2048, description="AI Gateway route template.")


class VerifyAnswer(BaseModel):
    valid: bool
    provider: ProviderName
    models: list[str]
    error: str | None = None
    note: str | None = None
    """Set when the credentials work but requests do not use them (the environment's switch is off)."""
    warnings: list[str] = []
    """Models these credentials would be asked for that the AI Gateway does not offer, each naming
    the setting to change."""


class ConfigureBody(BaseModel):
    """The seed's body, plus the vendors' keys. Fields left out are left as they are.

    For the AI Gateway, `aiGatewayClientSecret` may be left out when the client id is unchanged:
    the stored secret is kept. `aiGatewayInstanceId` (with `aiGatewayEnv`, default `prod`,
    `aiGatewayRegion` and `aiGatewayRouteTemplate`, default the server's) derives every model
    family's route, as `AI_GATEWAY_INSTANCE_ID` does for the server's own gateway.
    """

    model_config = ConfigDict(extra="forbid")

    aiGatewayClientId: str | None = Field(default=None, max_length=_TEXT)
    aiGatewayClientSecret: SecretStr | None = Field(default=None, max_length=_TEXT)
    aiGatewayBaseUrl: str | None = Field(default=None, max_length=2048)
    aiGatewayDefaultModel: str | None = Field(default=None, max_length=200)
    aiGatewayInstanceId: str | None = Field(default=None, max_length=200)
    aiGatewayEnv: str | None = Field(default=None, max_length=64)
    aiGatewayRegion: str | None = Field(default=None, max_length=64)
    aiGatewayRouteTemplate: str | None = Field(default=None, max_length=2048)
    aiGatewayAuthMethod: AuthMethod | None = Field(
        default=None,
        description="client_secret_basic or client_secret_post (OAuth2 client credentials), or static_key "
        "(client_id:client_secret sent as the bearer key). Default: the server's.",
    )
    openaiApiKey: SecretStr | None = Field(default=None, max_length=_TEXT)
    anthropicApiKey: SecretStr | None = Field(default=None, max_length=_TEXT)
    geminiApiKey: SecretStr | None = Field(default=None, max_length=_TEXT)
    verify: bool = Field(default=False, description="Store only what verifies.")


class ProviderStatusAnswer(BaseModel):
    provider: ProviderName
    configured: bool
    source: Literal["user", "environment"] | None
    enabled: bool
    usable: bool
    base_url: str | None = None
    default_model: str | None = None
    instance_id: str | None = None
    env: str | None = None
    region: str | None = None
    route_template: str | None = None
    auth_method: str | None = None
    last_verified_at: datetime | None = None
    last_verification_ok: bool | None = None
    last_verification_error: str | None = None
    needs_reconfiguration: bool = False
    problem: str | None = None


class ConfigureAnswer(BaseModel):
    configured: list[ProviderName]
    providers: list[ProviderStatusAnswer]
    errors: dict[str, str] = Field(default_factory=dict, description="Per provider, why it was not stored.")


class EnableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class PriceAnswer(BaseModel):
    """US dollars per million tokens, as the AI Gateway's catalog lists them."""

    input: float
    output: float
    unit: Literal["USD per million tokens"] = "USD per million tokens"


class ModelAnswer(BaseModel):
    """A model; `price` and `classification` (Green, Yellow, Red, Purple) when the AI Gateway's
    catalog lists it, and, in the catalog's own listing, its `family` and `endpoint`."""

    id: str
    provider: ProviderName
    price: PriceAnswer | None = None
    classification: str | None = None
    family: str | None = None
    endpoint: str | None = None


class ModelsAnswer(BaseModel):
    models: list[ModelAnswer]


MAX_IMAGES = 20
"""Images per `/api/generate` request: Anthropic caps stricter per image above 20."""


class GenerateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=200_000)
    tier: Tier | None = None
    model: str | None = Field(default=None, max_length=200)
    system: str | None = Field(default=None, max_length=200_000)
    images: list[str] = Field(
        default_factory=list,
        max_length=MAX_IMAGES,
        description="Images shown with the prompt, in order: https URLs or base64 data: URIs (image/png, "
        "jpeg, gif, webp, heic or heif). Each provider takes them or is skipped, saying why.",
    )
    stream: bool = False


class UsageAnswer(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AttemptAnswer(BaseModel):
    provider: ProviderName
    model: str
    outcome: str
    latency_ms: float
    error: str | None = None


class GenerateAnswer(BaseModel):
    content: str | None
    provider: ProviderName
    model: str
    finish_reason: str | None = None
    usage: UsageAnswer | None = None
    attempts: list[AttemptAnswer]


class ErrorAnswer(BaseModel):
    """Every error of `/api`: what went wrong, and a stable kind."""

    error: str
    kind: str


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None


class OpenAIErrorAnswer(BaseModel):
    """Every error of `/v1`, in OpenAI's shape."""

    error: OpenAIErrorDetail


def error_responses(model: type[BaseModel], *statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` for the errors a route can answer with."""
    described = {
        400: "Invalid request",
        401: "Missing, invalid or revoked API token",
        404: "Not found",
        409: "No usable provider, or stored credentials need reconfiguring",
        413: "Request body too large",
        422: "Malformed request body",
        429: "Rate limited (see Retry-After): upstream, or too many failed sign-ins or verifications",
        502: "An upstream provider rejected its credentials",
        503: "No provider could answer",
        504: "No provider answered within the deadline",
    }
    common = (401, 413, 422, 429)
    return {code: {"model": model, "description": described[code]} for code in sorted({*common, *statuses})}


_SSE_EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
    "required": ["data"],
}
SSE_OK: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The answer; with `stream`, server-sent events: `delta`s, then `done` or `error`",
        "content": {"text/event-stream": {"schema": _SSE_EVENT}},
    }
}

API_ERRORS = error_responses(ErrorAnswer)
API_CHAT_ERRORS = {**error_responses(ErrorAnswer, 400, 404, 409, 429, 502, 503, 504), **SSE_OK}
V1_ERRORS = error_responses(OpenAIErrorAnswer, 400, 404, 409, 429, 502, 503, 504)
V1_CHAT: dict[int | str, dict[str, object]] = {
    200: {
        "description": "A chat completion; with `stream`, chunks as server-sent events ending in [DONE]",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    }
}
