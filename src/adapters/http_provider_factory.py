"""Builds providers over the process's shared HTTP client: the one place adapters are chosen
for a set of credentials."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from adapters.ai_gateway.ai_gateway_client import AIGatewayClient, AIGatewayRoutes
from adapters.ai_gateway.oauth2_client_credentials_token_source import (
    OAuth2ClientCredentialsTokenSource,
    StaticKeyTokenSource,
)
from adapters.http.token_auth import HeaderAuth
from adapters.openai_compat.openai_chat_completions_provider import OpenAIChatCompletionsProvider
from domain.credentials import AuthMethod, ProviderCredentials
from domain.errors import ConfigurationError
from domain.models import ProviderName
from domain.ports.llm_provider import LLMProvider
from domain.ports.provider_factory import ProviderFactory
from domain.ports.token_source import TokenSource


@dataclass(frozen=True, slots=True)
class AIGatewayDefaults:
    """The operator's AI Gateway settings, used where a credential leaves a field unset.

    The token URL and per-family routes belong to the operator's gateway, so they apply only to
    credentials that use the operator's base URL.
    """

    base_url: str
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC
    token_url: str | None = None
    scope: str | None = None
    audience: str | None = None
    openai_route: str | None = None
    anthropic_route: str | None = None
    gemini_route: str | None = None


@dataclass(frozen=True, slots=True)
class VendorDefaults:
    """The vendors' base URLs, as their SDKs take them: OpenAI's includes `/v1`, the others are
    bare origins."""

    openai: str = "https://api.openai.com/v1"
    anthropic: str = "https://api.anthropic.com"
    gemini: str = "https://generativelanguage.googleapis.com"


class HttpProviderFactory(ProviderFactory):
    def __init__(
        self, http: httpx.AsyncClient, *, ai_gateway: AIGatewayDefaults, vendors: VendorDefaults = VendorDefaults()
    ) -> None:
        self._http = http
        self._gateway = ai_gateway
        self._vendors = vendors

    def build(self, credentials: ProviderCredentials) -> LLMProvider:
        provider = credentials.provider
        if provider is ProviderName.AI_GATEWAY:
            return self._ai_gateway(credentials)
        if provider is ProviderName.OPENAI:
            return OpenAIChatCompletionsProvider(
                self._http,
                base_url=credentials.base_url or self._vendors.openai,
                auth=HeaderAuth("Authorization", "Bearer ", credentials.api_key),
                provider=provider,
            )
        raise ConfigurationError(f"provider {provider.value} is not supported yet", provider=provider)

    def _ai_gateway(self, credentials: ProviderCredentials) -> AIGatewayClient:
        defaults = self._gateway
        base_url = (credentials.base_url or defaults.base_url).rstrip("/")
        own_gateway = base_url == defaults.base_url.rstrip("/")
        routes = AIGatewayRoutes(
            openai=(own_gateway and defaults.openai_route) or f"{base_url}/v1",
            anthropic=defaults.anthropic_route if own_gateway else None,
            gemini=defaults.gemini_route if own_gateway else None,
        )
        return AIGatewayClient(
            self._http, token_source=self._token_source(credentials, base_url, own_gateway), routes=routes
        )

    def _token_source(self, credentials: ProviderCredentials, base_url: str, own_gateway: bool) -> TokenSource:
        if credentials.client_secret is None:
            raise ConfigurationError(
                "AI Gateway credentials need a client secret as well as the client id",
                provider=ProviderName.AI_GATEWAY,
            )
        defaults = self._gateway
        method = credentials.auth_method or defaults.auth_method
        if method is AuthMethod.STATIC_KEY:
            return StaticKeyTokenSource(client_id=credentials.api_key, client_secret=credentials.client_secret)
        return OAuth2ClientCredentialsTokenSource(
            self._http,
            client_id=credentials.api_key,
            client_secret=credentials.client_secret,
            issuer_url=base_url,
            token_url=credentials.token_url or (defaults.token_url if own_gateway else None),
            auth_method=method,
            scope=credentials.scope or defaults.scope,
            audience=credentials.audience or defaults.audience,
        )
