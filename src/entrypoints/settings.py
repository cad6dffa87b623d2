"""Settings from the environment and a `.env` file in the working directory (SPEC.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ideaforge_gateway.domain.config import DEFAULT_PROVIDER_ORDER, GatewayConfig, ProviderDefaults, TierModels
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
from ideaforge_gateway.domain.models import Classification, ProviderName
from ideaforge_gateway.domain.policies.gateway_routes import (
    DEFAULT_CATALOG_TEMPLATE,
    DEFAULT_ENV,
    DEFAULT_ROUTE_TEMPLATE,
    catalog_url,
)
from ideaforge_gateway.entrypoints import gateway_settings


class Settings(BaseSettings):
    """Every variable keeps its documented name; secrets are `SecretStr`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # The AI Gateway, with the seed's defaults.
    ai_gateway_client_id: SecretStr | None = None
    ai_gateway_client_secret: SecretStr | None = None
    ai_gateway_base_url: str = "https://ai-gateway.quantumblack.com"
    ai_gateway_enabled: bool = False
    ai_gateway_default_model: str = "gpt-4o"
    ai_gateway_fast_model: str = "gpt-4o-mini"
    ai_gateway_standard_model: str = "gpt-4o"
    ai_gateway_premium_model: str = "gpt-4-turbo"
    ai_gateway_auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC
    ai_gateway_token_url: str | None = None
    ai_gateway_scope: str | None = None
    ai_gateway_audience: str | None = None
    ai_gateway_openai_base_url: str | None = None
    ai_gateway_anthropic_base_url: str | None = None
    ai_gateway_gemini_base_url: str | None = None
    ai_gateway_azure_base_url: str | None = None
    """Azure OpenAI's deployment routes (`/openai/deployments/...`) for `azure/` models."""
    ai_gateway_azure_api_version: str = "2024-10-21"
    ai_gateway_instance_id: str | None = None
    """Set: every family's route is derived from AI_GATEWAY_ROUTE_TEMPLATE (gateway_routes.py)."""
    ai_gateway_env: str = DEFAULT_ENV
    ai_gateway_region: str | None = None
    ai_gateway_route_template: str = DEFAULT_ROUTE_TEMPLATE
    ai_gateway_catalog_url: str | None = None
    """The model catalog's URL; derived from the environment and region when unset. It may hold
    `{env}` and `{region.}`, filled with the environment's values, and for a user's own instance
    with the user's (`application/user_catalogs.py`)."""
    ai_gateway_max_classification: Classification | None = None
    """The highest catalog classification (0-3 or Green, Yellow, Red, Purple) the gateway lists
    and uses; unset: no limit."""

    # The vendors, under their SDKs' usual names.
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_fast_model: str = "gpt-4o-mini"
    openai_standard_model: str = "gpt-4o"
    openai_premium_model: str = "gpt-4.1"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str = "https://api.anthropic.com"
    anthropic_fast_model: str = "claude-haiku-4-5"
    anthropic_standard_model: str = "claude-sonnet-4-5"
    anthropic_premium_model: str = "claude-opus-4-1"
    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("gemini_api_key", "google_api_key")
    )
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_fast_model: str = "gemini-2.5-flash"
    gemini_standard_model: str = "gemini-2.5-pro"
    gemini_premium_model: str = "gemini-2.5-pro"

    # The service itself.
    ideaforge_provider_order: str = ",".join(p.value for p in DEFAULT_PROVIDER_ORDER)
    ideaforge_data_dir: Path = Path(".ideaforge")
    ideaforge_database_url: str | None = None
    ideaforge_encryption_keys: SecretStr | None = None
    ideaforge_allow_private_base_urls: bool = False
    ideaforge_ca_bundle: str | None = None
    """A PEM file of extra CA certificates trusted for every upstream, besides the system's store,
    certifi's bundle and SSL_CERT_FILE / SSL_CERT_DIR / REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE."""
    # Proxy URLs may hold a user and password: secrets.
    ideaforge_https_proxy: SecretStr | None = None
    ideaforge_http_proxy: SecretStr | None = None
    ideaforge_no_proxy: str | None = None
    """Any of these three set: they replace HTTPS_PROXY / HTTP_PROXY / NO_PROXY for the gateway."""
    ideaforge_proxy_user_base_urls: bool = False
    """Send users' own base URLs through the proxy too (off: they connect directly)."""
    ideaforge_accept_unreadable_credentials: bool = False
    """Start although the keys do not read some stored credentials (a key lost for good): they
    then show as "needs reconfiguration". Off: such a start is refused with one line."""
    # Positive and finite: aiohttp takes 0 or less as "no timeout at all".
    ideaforge_http_connect_timeout: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    ideaforge_http_read_timeout: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    ideaforge_max_response_bytes: int = Field(default=8 << 20, ge=1024)
    """The most bytes of a non-streamed upstream answer the gateway reads; past it, the answer is
    refused as too large (and the next provider asked)."""
    ideaforge_user_max_concurrent_requests: int = Field(default=64, ge=1)
    """Upstream requests (streams included) one user may have in flight at once; past it, a 429."""
    ideaforge_max_connections_per_host: int = Field(default=100, ge=1)
    """Requests in flight to one host of a user-supplied base URL, across users; past it, the
    request is refused (and the next provider asked)."""
    ideaforge_deadline_seconds: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    """One deadline for every attempt of a generation, until an answer starts."""
    ideaforge_attempts_per_provider: int = Field(default=2, ge=1, le=10)
    ideaforge_attempt_share: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    """While another provider is left, the share of the remaining deadline one attempt may use."""
    ideaforge_max_stream_seconds: float = Field(default=900.0, gt=0, allow_inf_nan=False)
    """A streamed answer ends (with an error event) after this long, flowing or not."""
    ideaforge_max_stream_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    """A streamed answer ends (with an error event) before it would send more than this."""
    ideaforge_stream_recheck_seconds: float = Field(default=5.0, ge=0, allow_inf_nan=False)
    """How often a flowing stream checks that its caller's API token still authenticates."""
    ideaforge_sign_in_failures_per_minute: int = Field(default=20, ge=1)
    """Failed sign-ins (bad API tokens) allowed per client address and per token prefix."""
    ideaforge_verify_per_minute: int = Field(default=20, ge=1)
    """`POST /api/providers/verify` calls allowed per user and per client address."""
    ideaforge_database_timeout_seconds: float = Field(default=5.0, gt=0, le=3600, allow_inf_nan=False)
    """The longest wait on the database: connecting, one statement, a free pooled connection,
    SQLite's busy lock. Past it the request is answered 503 (database unavailable)."""
    ideaforge_database_grace_seconds: float = Field(default=60.0, ge=0, le=3600, allow_inf_nan=False)
    """While the database cannot be read, an API token that authenticated less than this long
    ago keeps authenticating (a revoked one works at most this long, and only during an outage)."""
    ideaforge_agno_telemetry: bool = False
    """Let Agno send its usage telemetry to Agno's servers; off unless the operator turns it on."""
    ideaforge_metrics: bool = False
    """Serve Prometheus metrics at /metrics (and collect them); also on when an operator token is set."""
    ideaforge_operator_token: SecretStr | None = None
    """A bearer token for the operators' routes: /metrics (then required there) and /ops/providers/health."""

    @property
    def metrics_enabled(self) -> bool:
        return self.ideaforge_metrics or self.ideaforge_operator_token is not None

    @field_validator(
        "ai_gateway_client_id",
        "ai_gateway_client_secret",
        "openai_api_key",
        "anthropic_api_key",
        "gemini_api_key",
        mode="before",
    )
    @classmethod
    def _header_safe_secret(cls, value: object) -> object:
        """Surrounding whitespace (the newline that `.env` files and secret mounts add) is cut;
        blank means unset. What is left goes into HTTP headers on every request, so anything
        but printable ASCII is refused here, at start, rather than failing every request. The
        message never repeats the value."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        if not (value.isascii() and value.isprintable()):
            raise ValueError("must be printable ASCII (a secret with a control character or a non-ASCII letter)")
        return value

    @field_validator(
        "ai_gateway_token_url",
        "ai_gateway_scope",
        "ai_gateway_audience",
        "ai_gateway_openai_base_url",
        "ai_gateway_anthropic_base_url",
        "ai_gateway_gemini_base_url",
        "ai_gateway_azure_base_url",
        "ai_gateway_instance_id",
        "ai_gateway_region",
        "ai_gateway_catalog_url",
        "ai_gateway_max_classification",
        "ideaforge_database_url",
        "ideaforge_operator_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ai_gateway_max_classification", mode="before")
    @classmethod
    def _classification(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None  # blank is unset, as for the other optional settings
        return Classification.parse(value) if isinstance(value, str | int) else value

    @property
    def catalog_url(self) -> str:
        """`catalog_template` filled with AI_GATEWAY_ENV and AI_GATEWAY_REGION."""
        return catalog_url(self.catalog_template, env=self.ai_gateway_env, region=self.ai_gateway_region)

    @property
    def catalog_template(self) -> str:
        """`AI_GATEWAY_CATALOG_URL`, else `https://api.{region.}{env}.ai-gateway.quantumblack.com/v1/catalog/models`."""
        return self.ai_gateway_catalog_url or DEFAULT_CATALOG_TEMPLATE

    @field_validator(
        "ai_gateway_base_url",
        "openai_base_url",
        "anthropic_base_url",
        "gemini_base_url",
        "ai_gateway_token_url",
        "ai_gateway_openai_base_url",
        "ai_gateway_anthropic_base_url",
        "ai_gateway_gemini_base_url",
        "ai_gateway_azure_base_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else gateway_settings.http_url(value)

    @field_validator("ai_gateway_catalog_url")
    @classmethod
    def _catalog_template(cls, value: str | None) -> str | None:
        return None if value is None else gateway_settings.catalog_template(value)

    @field_validator(
        "ai_gateway_instance_id",
        "ai_gateway_env",
        "ai_gateway_region",
        "ai_gateway_route_template",
        "ai_gateway_azure_api_version",
    )
    @classmethod
    def _deployment(cls, value: str, info: ValidationInfo) -> object:
        """The AI Gateway's deployment settings (`gateway_settings.py`); blank optional ones are
        None by then (`_blank_is_unset`) and pass as they are."""
        if value is None:
            return None
        return gateway_settings.DEPLOYMENT_RULES[str(info.field_name).removeprefix("ai_gateway_")](value)

    @field_validator("ideaforge_operator_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("must be at least 16 characters: make one with `openssl rand -hex 24`")
        return value

    @field_validator("ideaforge_provider_order")
    @classmethod
    def _known_providers(cls, value: str) -> str:
        names = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [n for n in names if n not in {p.value for p in ProviderName}]
        if unknown or not names or len(set(names)) != len(names):
            known = ", ".join(p.value for p in ProviderName)
            raise ValueError(f"must list distinct providers among {known}")
        return ",".join(names)

    @property
    def provider_order(self) -> tuple[ProviderName, ...]:
        return tuple(ProviderName(n) for n in self.ideaforge_provider_order.split(","))

    def gateway_config(self) -> GatewayConfig:
        """The environment's providers, as the application sees them."""
        gateway_credentials = None
        if self.ai_gateway_client_id and self.ai_gateway_client_secret:
            gateway_credentials = ProviderCredentials(
                provider=ProviderName.AI_GATEWAY,
                api_key=self.ai_gateway_client_id,
                client_secret=self.ai_gateway_client_secret,
            )
        providers = {
            ProviderName.AI_GATEWAY: ProviderDefaults(
                provider=ProviderName.AI_GATEWAY,
                tier_models=TierModels(
                    self.ai_gateway_fast_model, self.ai_gateway_standard_model, self.ai_gateway_premium_model
                ),
                credentials=gateway_credentials,
                enabled=self.ai_gateway_enabled,
                default_model=self.ai_gateway_default_model,
            ),
            ProviderName.OPENAI: self._vendor(
                ProviderName.OPENAI,
                self.openai_api_key,
                TierModels(self.openai_fast_model, self.openai_standard_model, self.openai_premium_model),
            ),
            ProviderName.ANTHROPIC: self._vendor(
                ProviderName.ANTHROPIC,
                self.anthropic_api_key,
                TierModels(self.anthropic_fast_model, self.anthropic_standard_model, self.anthropic_premium_model),
            ),
            ProviderName.GEMINI: self._vendor(
                ProviderName.GEMINI,
                self.gemini_api_key,
                TierModels(self.gemini_fast_model, self.gemini_standard_model, self.gemini_premium_model),
            ),
        }
        return GatewayConfig(providers=providers, order=self.provider_order)

    @staticmethod
    def _vendor(provider: ProviderName, key: SecretStr | None, tiers: TierModels) -> ProviderDefaults:
        credentials = ProviderCredentials(provider=provider, api_key=key) if key else None
        return ProviderDefaults(provider=provider, tier_models=tiers, credentials=credentials)
