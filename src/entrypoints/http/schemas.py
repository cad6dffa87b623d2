"""Request and response bodies of the seed's API (`/api`), exactly as the seed names them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from domain.models import ProviderName, Tier

_TEXT = 4096


class VerifyBody(BaseModel):
    """The seed's body. Without `api_key`, the user's stored (or the environment's) credentials
    are verified instead."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName
    api_key: SecretStr | None = Field(default=None, max_length=_TEXT, description="Client id, or the API key.")
    client_secret: SecretStr | None = Field(default=None, max_length=_TEXT)
    base_url: str | None = Field(default=None, max_length=2048)


class VerifyAnswer(BaseModel):
    valid: bool
    provider: ProviderName
    models: list[str]
    error: str | None = None


class ConfigureBody(BaseModel):
    """The seed's body, plus the vendors' keys. Fields left out are left as they are.

    For the AI Gateway, `aiGatewayClientSecret` may be left out when the client id is unchanged:
    the stored secret is kept.
    """

    model_config = ConfigDict(extra="forbid")

    aiGatewayClientId: str | None = Field(default=None, max_length=_TEXT)
    aiGatewayClientSecret: SecretStr | None = Field(default=None, max_length=_TEXT)
    aiGatewayBaseUrl: str | None = Field(default=None, max_length=2048)
    aiGatewayDefaultModel: str | None = Field(default=None, max_length=200)
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


class ModelAnswer(BaseModel):
    id: str
    provider: ProviderName


class ModelsAnswer(BaseModel):
    models: list[ModelAnswer]


class GenerateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=200_000)
    tier: Tier | None = None
    model: str | None = Field(default=None, max_length=200)
    system: str | None = Field(default=None, max_length=200_000)
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
