"""The composition root: the only place that chooses adapters."""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.http.client import HttpTimeouts, build_http_client
from adapters.http_provider_factory import AIGatewayDefaults, HttpProviderFactory
from application.registry import ProviderRegistry
from application.use_cases.generate_reply import GenerateReply
from application.use_cases.list_models import ListModels
from application.use_cases.verify_credentials import VerifyCredentials
from domain.ports.credential_store import CredentialStore
from entrypoints.settings import Settings


def _ai_gateway_defaults(settings: Settings) -> AIGatewayDefaults:
    return AIGatewayDefaults(
        base_url=settings.ai_gateway_base_url,
        auth_method=settings.ai_gateway_auth_method,
        token_url=settings.ai_gateway_token_url,
        scope=settings.ai_gateway_scope,
        audience=settings.ai_gateway_audience,
        openai_route=settings.ai_gateway_openai_base_url,
        anthropic_route=settings.ai_gateway_anthropic_base_url,
        gemini_route=settings.ai_gateway_gemini_base_url,
    )


def _timeouts(settings: Settings) -> HttpTimeouts:
    return HttpTimeouts(connect=settings.ideaforge_http_connect_timeout, read=settings.ideaforge_http_read_timeout)


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    gateway_config = providers.Singleton(lambda s: s.gateway_config(), settings)

    http_client = providers.Singleton(build_http_client, providers.Callable(_timeouts, settings))
    provider_factory = providers.Singleton(
        HttpProviderFactory, http_client, ai_gateway=providers.Callable(_ai_gateway_defaults, settings)
    )
    credential_store: providers.Provider[CredentialStore | None] = providers.Object(None)
    registry = providers.Singleton(ProviderRegistry, gateway_config, provider_factory, credential_store)

    verify_credentials = providers.Factory(VerifyCredentials, registry, provider_factory, credential_store)
    list_models = providers.Factory(ListModels, registry)
    generate_reply = providers.Factory(GenerateReply, registry)


async def close(container: Container) -> None:
    """Release what the container opened: the shared HTTP client (its session opens lazily)."""
    await container.http_client().aclose()
