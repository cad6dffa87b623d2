"""Builds providers over the process's transports: the one place a base URL, a credential and a
wire format are put together for a set of credentials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ideaforge_gateway.adapters.ai_gateway.ai_gateway_client import AIGatewayClient
from ideaforge_gateway.adapters.ai_gateway.oauth2_client_credentials_token_source import (
    OAuth2ClientCredentialsTokenSource,
    StaticKeyTokenSource,
)
from ideaforge_gateway.adapters.anthropic.messages_format import AnthropicMessagesFormat
from ideaforge_gateway.adapters.gemini.generate_content_format import GeminiGenerateContentFormat
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth, RequestAuth, TokenSourceAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_llm_provider import HttpLLMProvider
from ideaforge_gateway.adapters.openai_compat.azure_deployments import DEFAULT_API_VERSION, AzureDeploymentsFormat
from ideaforge_gateway.adapters.openai_compat.wire import OpenAIChatCompletionsFormat
from ideaforge_gateway.adapters.wire_format import WireFormat
from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.application.user_catalogs import CatalogViews
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.policies.gateway_routes import (
    DEFAULT_ENV,
    DEFAULT_ROUTE_TEMPLATE,
    GatewayDeployment,
    GatewayFamily,
)
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.domain.ports.provider_factory import ProviderFactory
from ideaforge_gateway.domain.ports.token_source import TokenSource


@dataclass(frozen=True, slots=True)
class AIGatewayDefaults:
    """The operator's AI Gateway settings, used where a credential leaves a field unset.

    The token URL and per-family routes belong to the operator's gateway, so they apply only to
    credentials that use the operator's base URL. With `instance_id` set, every family's route
    is derived from `route_template` (`gateway_routes.py`), and a `*_route` set overrides its
    family's; without it, the OpenAI-compatible route is `{base_url}/v1` and other families
    have a route only where one is set. `route_template` also shapes the routes of users' own
    instance ids.
    """

    base_url: str
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC
    token_url: str | None = None
    scope: str | None = None
    audience: str | None = None
    openai_route: str | None = None
    anthropic_route: str | None = None
    gemini_route: str | None = None
    azure_route: str | None = None
    instance_id: str | None = None
    env: str = DEFAULT_ENV
    region: str | None = None
    route_template: str = DEFAULT_ROUTE_TEMPLATE
    azure_api_version: str = DEFAULT_API_VERSION
    on_token_refresh: Callable[[str], None] | None = None
    """Told the outcome of every token request (`ok`, `failed`, `stale`): the metrics' hook."""


@dataclass(frozen=True, slots=True)
class VendorDefaults:
    """The vendors' base URLs, as their SDKs take them: OpenAI's includes `/v1`, the others are
    bare origins."""

    openai: str = "https://api.openai.com/v1"
    anthropic: str = "https://api.anthropic.com"
    gemini: str = "https://generativelanguage.googleapis.com"


class HttpProviderFactory(ProviderFactory):
    """`HttpLLMProvider`s over the transports.

    URLs in credentials (base URL, token URL) only ever come from users: the operator's are the
    defaults here. Credentials carrying one use `user_url_transport`, whose client is
    public-only, so a user cannot point the gateway at an internal address; the operator's URLs
    are trusted.
    """

    def __init__(
        self,
        transport: HttpTransport,
        *,
        ai_gateway: AIGatewayDefaults,
        vendors: VendorDefaults = VendorDefaults(),
        user_url_transport: HttpTransport | None = None,
        catalog: CatalogViews | CatalogView | None = None,
    ) -> None:
        self._catalogs = catalog if isinstance(catalog, CatalogViews) else CatalogViews(catalog)
        """The catalog that answers for each credentials: the operator's, or a user's own instance's."""
        self._trusted = transport
        self._user_urls = user_url_transport or transport
        self._gateway = ai_gateway
        self._vendors = vendors

    def build(self, credentials: ProviderCredentials) -> LLMProvider:
        # A user's instance id puts the user's values into hosts: such routes are users' URLs too.
        user_urls = any(
            value is not None
            for value in (
                credentials.base_url,
                credentials.token_url,
                credentials.instance_id,
                credentials.route_template,
            )
        )
        http = self._user_urls if user_urls else self._trusted
        provider = credentials.provider
        if provider is ProviderName.AI_GATEWAY:
            return self._ai_gateway(http, credentials)
        base_url = credentials.base_url
        key = credentials.api_key
        if provider is ProviderName.OPENAI:
            auth = HeaderAuth("Authorization", "Bearer ", key)
            return HttpLLMProvider(
                http, base_url=base_url or self._vendors.openai, auth=auth, wire=OpenAIChatCompletionsFormat()
            )
        if provider is ProviderName.ANTHROPIC:
            auth = HeaderAuth("x-api-key", "", key)
            return HttpLLMProvider(
                http, base_url=base_url or self._vendors.anthropic, auth=auth, wire=AnthropicMessagesFormat()
            )
        auth = HeaderAuth("x-goog-api-key", "", key)
        return HttpLLMProvider(
            http, base_url=base_url or self._vendors.gemini, auth=auth, wire=GeminiGenerateContentFormat()
        )

    def _ai_gateway(self, http: HttpTransport, credentials: ProviderCredentials) -> AIGatewayClient:
        defaults = self._gateway
        base_url = (credentials.base_url or defaults.base_url).rstrip("/")
        own_gateway = base_url == defaults.base_url.rstrip("/")
        token_source = self._token_source(http, credentials, base_url, own_gateway)
        auth = TokenSourceAuth(token_source)
        routes = self._routes(credentials, base_url, own_gateway)
        gateway = ProviderName.AI_GATEWAY

        def route(family: GatewayFamily, wire: WireFormat, route_auth: RequestAuth = auth) -> HttpLLMProvider | None:
            url = routes.get(family)
            return HttpLLMProvider(http, base_url=url, auth=route_auth, wire=wire) if url else None

        method = credentials.auth_method or defaults.auth_method
        # As Azure's own SDK sends them: a key in `api-key`, an OAuth2 token as a bearer.
        azure_auth = (
            TokenSourceAuth(token_source, header="api-key", prefix="") if method is AuthMethod.STATIC_KEY else auth
        )
        return AIGatewayClient(
            token_source=token_source,
            openai_route=HttpLLMProvider(  # every deployment has one
                http, base_url=routes[GatewayFamily.OPENAI], auth=auth, wire=OpenAIChatCompletionsFormat(gateway)
            ),
            anthropic_route=route(GatewayFamily.ANTHROPIC, AnthropicMessagesFormat(gateway)),
            gemini_route=route(GatewayFamily.GEMINI, GeminiGenerateContentFormat(gateway)),
            azure_route=route(
                GatewayFamily.AZURE, AzureDeploymentsFormat(gateway, defaults.azure_api_version), azure_auth
            ),
            catalog=self._catalogs.for_credentials(credentials),
        )

    def _routes(self, credentials: ProviderCredentials, base_url: str, own_gateway: bool) -> dict[GatewayFamily, str]:
        """Each family's route: a user's instance id derives all four (with the user's
        environment and region, and the user's template or the operator's); the operator's
        instance id and `*_route` overrides apply to the operator's gateway only."""
        defaults = self._gateway
        if credentials.instance_id:
            return GatewayDeployment(
                credentials.instance_id,
                credentials.env or DEFAULT_ENV,
                credentials.region,
                credentials.route_template or defaults.route_template,
            ).routes()
        routes = {GatewayFamily.OPENAI: f"{base_url}/v1"}
        if not own_gateway:
            return routes
        if defaults.instance_id:
            routes = GatewayDeployment(
                defaults.instance_id, defaults.env, defaults.region, defaults.route_template
            ).routes()
        overrides = (
            (GatewayFamily.OPENAI, defaults.openai_route),
            (GatewayFamily.ANTHROPIC, defaults.anthropic_route),
            (GatewayFamily.GEMINI, defaults.gemini_route),
            (GatewayFamily.AZURE, defaults.azure_route),
        )
        routes.update({family: url for family, url in overrides if url})
        return routes

    def _token_source(
        self, http: HttpTransport, credentials: ProviderCredentials, base_url: str, own_gateway: bool
    ) -> TokenSource:
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
            http,
            client_id=credentials.api_key,
            client_secret=credentials.client_secret,
            issuer_url=base_url,
            token_url=credentials.token_url or (defaults.token_url if own_gateway else None),
            auth_method=method,
            scope=credentials.scope or defaults.scope,
            audience=credentials.audience or defaults.audience,
            on_refresh=defaults.on_token_refresh,
        )
