"""The composition root: the only place that chooses adapters."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from dependency_injector import containers, providers
from pydantic import SecretStr
from sqlalchemy import Engine

from ideaforge_gateway.adapters.crypto.aesgcm_cipher import AesGcmCipher, KeyRing, load_or_create_key_file
from ideaforge_gateway.adapters.http.bounds import ConcurrencyBounds
from ideaforge_gateway.adapters.http.client import HttpTimeouts, SharedHttpClient, build_http_client
from ideaforge_gateway.adapters.http.loop_bridge import LoopBridge
from ideaforge_gateway.adapters.http.network import ProxyRules, build_ssl_context
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.sql.engine import OUTAGE_ERRORS, make_engine, upgrade_database
from ideaforge_gateway.adapters.sql.key_check import check_keyring, stored_key_ids_at
from ideaforge_gateway.adapters.sql.sqlmodel_credential_store import SqlModelCredentialStore
from ideaforge_gateway.adapters.sql.sqlmodel_user_store import SqlModelUserStore
from ideaforge_gateway.application.authenticator import Authenticator
from ideaforge_gateway.application.credential_writes import CredentialWrites
from ideaforge_gateway.application.fallback_chain import Breakers, FallbackChain
from ideaforge_gateway.application.model_availability import CatalogGate
from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.application.provider_health import ProviderHealth
from ideaforge_gateway.application.rate_limiter import WindowLimiter
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.application.telemetry import fan_out
from ideaforge_gateway.application.use_cases.configure_provider import ConfigureProvider
from ideaforge_gateway.application.use_cases.generate_reply import GenerateReply
from ideaforge_gateway.application.use_cases.generate_with_agent import GenerateWithAgent
from ideaforge_gateway.application.use_cases.list_models import ListModels
from ideaforge_gateway.application.use_cases.list_providers import ListProviders
from ideaforge_gateway.application.use_cases.remove_provider import RemoveProvider, SetProviderEnabled
from ideaforge_gateway.application.use_cases.verify_credentials import VerifyCredentials
from ideaforge_gateway.application.user_catalogs import CatalogViews
from ideaforge_gateway.domain.config import StreamBounds
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.domain.models import ProviderName, Tier
from ideaforge_gateway.domain.policies.fallback import RetryPolicy
from ideaforge_gateway.domain.ports.model_catalog import ModelCatalog
from ideaforge_gateway.domain.ports.telemetry import Telemetry
from ideaforge_gateway.entrypoints.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from ideaforge_gateway.adapters.agno.agno_agent_runner import AgnoAgentRunner
    from ideaforge_gateway.adapters.agno.ai_gateway_model import AIGatewayModel
    from ideaforge_gateway.adapters.agno.chain_model import ProviderChainModel
    from ideaforge_gateway.adapters.http_provider_factory import AIGatewayDefaults, HttpProviderFactory, VendorDefaults
    from ideaforge_gateway.adapters.observability.prometheus_telemetry import PrometheusTelemetry


# The provider adapters and their wire formats (~50 ms of imports) load when the first provider
# is built, not while `serve` starts: `http.app` warms them up once the server is ready.
def _provider_factory(
    transport: HttpTransport,
    *,
    ai_gateway: AIGatewayDefaults,
    vendors: VendorDefaults,
    user_url_transport: HttpTransport,
    catalog: CatalogViews | None = None,
) -> HttpProviderFactory:
    from ideaforge_gateway.adapters.http_provider_factory import HttpProviderFactory

    return HttpProviderFactory(
        transport, ai_gateway=ai_gateway, vendors=vendors, user_url_transport=user_url_transport, catalog=catalog
    )


def _catalog_view(settings: Settings, transport: HttpTransport) -> CatalogView | None:
    """The operator's AI Gateway instance's catalog, asked with the environment's service account:
    None without AI_GATEWAY_INSTANCE_ID or without those credentials (`catalog_problem` says which)."""
    if catalog_problem(settings) is not None:
        return None
    from ideaforge_gateway.adapters.ai_gateway.catalog_client import AIGatewayCatalogClient

    instance_id, client_id, secret = (
        settings.ai_gateway_instance_id, settings.ai_gateway_client_id, settings.ai_gateway_client_secret
    )  # fmt: skip
    assert instance_id is not None and client_id is not None and secret is not None  # catalog_problem checked
    client = AIGatewayCatalogClient(
        transport, url=settings.catalog_url, instance_id=instance_id, client_id=client_id, client_secret=secret
    )
    return CatalogView(client, instance_id=instance_id, max_classification=settings.ai_gateway_max_classification)


def _catalog_views(settings: Settings, operator: CatalogView | None, user_transport: HttpTransport) -> CatalogViews:
    """The operator's catalog and users' own instances' catalogs, those asked on the public-only
    transport of users' URLs (a user's env and region are in the host)."""

    def make(url: str, instance_id: str, client_id: SecretStr, client_secret: SecretStr) -> ModelCatalog:
        from ideaforge_gateway.adapters.ai_gateway.catalog_client import AIGatewayCatalogClient

        return AIGatewayCatalogClient(
            user_transport, url=url, instance_id=instance_id, client_id=client_id, client_secret=client_secret
        )

    return CatalogViews(
        operator,
        make,
        template=settings.catalog_template,
        max_classification=settings.ai_gateway_max_classification,
        operator_problem=catalog_problem(settings),
    )


def catalog_problem(settings: Settings) -> str | None:
    """Why the environment has no AI Gateway catalog to ask, or None when it has one."""
    if not settings.ai_gateway_instance_id:
        return "the AI Gateway's catalog needs an instance: set AI_GATEWAY_INSTANCE_ID"
    if settings.ai_gateway_client_id is None or settings.ai_gateway_client_secret is None:
        return "the AI Gateway's catalog is asked with the service account: set AI_GATEWAY_CLIENT_ID and _SECRET"
    return None


def _ai_gateway_defaults(settings: Settings, telemetry: Telemetry) -> AIGatewayDefaults:
    from ideaforge_gateway.adapters.http_provider_factory import AIGatewayDefaults

    return AIGatewayDefaults(
        on_token_refresh=functools.partial(telemetry.token_refresh, ProviderName.AI_GATEWAY),
        base_url=settings.ai_gateway_base_url,
        auth_method=settings.ai_gateway_auth_method,
        token_url=settings.ai_gateway_token_url,
        scope=settings.ai_gateway_scope,
        audience=settings.ai_gateway_audience,
        openai_route=settings.ai_gateway_openai_base_url,
        anthropic_route=settings.ai_gateway_anthropic_base_url,
        gemini_route=settings.ai_gateway_gemini_base_url,
        azure_route=settings.ai_gateway_azure_base_url,
        instance_id=settings.ai_gateway_instance_id,
        env=settings.ai_gateway_env,
        region=settings.ai_gateway_region,
        route_template=settings.ai_gateway_route_template,
        azure_api_version=settings.ai_gateway_azure_api_version,
    )


def _vendor_defaults(settings: Settings) -> VendorDefaults:
    from ideaforge_gateway.adapters.http_provider_factory import VendorDefaults

    return VendorDefaults(
        openai=settings.openai_base_url, anthropic=settings.anthropic_base_url, gemini=settings.gemini_base_url
    )


def _data_dir(settings: Settings) -> Path:
    """`IDEAFORGE_DATA_DIR`, made if missing; a path that is a file, or that cannot be made or
    written, is a `ConfigurationError` naming it (not an OSError from deep inside the store)."""
    path = settings.ideaforge_data_dir.expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigurationError(f"IDEAFORGE_DATA_DIR {path} is a file, not a folder: point it at a folder") from None
    except OSError as exc:
        raise ConfigurationError(
            f"IDEAFORGE_DATA_DIR {path} cannot be made ({exc.strerror or type(exc).__name__}): "
            "point it at a folder this user can create"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(f"IDEAFORGE_DATA_DIR {path} is not writable by this user: point it at one that is")
    return path


def _database_url(settings: Settings) -> str:
    if settings.ideaforge_database_url:
        return settings.ideaforge_database_url
    return f"sqlite:///{_data_dir(settings) / 'ideaforge.db'}"


def _keyring(settings: Settings, database_url: str) -> KeyRing:
    """The operator's keys; with SQLite and none set, a key file made once in the data dir."""
    if settings.ideaforge_encryption_keys is not None:
        return KeyRing.parse(settings.ideaforge_encryption_keys.get_secret_value())
    if database_url.startswith("sqlite"):
        path = _data_dir(settings) / "encryption.key"
        # A key is made only for a database that holds no encrypted value: one made beside
        # values it cannot read would hide the loss of the old one.
        may_create = path.exists() or not stored_key_ids_at(database_url)
        return load_or_create_key_file(path, may_create=may_create)
    raise ConfigurationError(
        "IDEAFORGE_ENCRYPTION_KEYS must be set when the database is not SQLite: "
        "make a key with `ideaforge keys generate`"
    )


def _migrated_engine(
    database_url: str, cipher: AesGcmCipher, accept_unreadable: bool = False, timeout: float = 5.0
) -> Iterator[Engine]:
    """The database, migrated to head, whose stored credentials the keys read (`check_keyring`:
    a lost or wrong key stops the start with one line, unless the operator accepts that those
    credentials must be configured again: IDEAFORGE_ACCEPT_UNREADABLE_CREDENTIALS, then a
    warning). Takes the cipher first, so that a missing key is reported before any connection."""
    engine = make_engine(database_url, timeout=timeout)
    try:
        upgrade_database(engine)
        try:
            check_keyring(engine, cipher)
        except ConfigurationError as exc:
            if not accept_unreadable:
                raise
            logging.getLogger("ideaforge_gateway").warning(
                "%s (IDEAFORGE_ACCEPT_UNREADABLE_CREDENTIALS: starting anyway; those users must configure again)",
                exc.message,
            )
    except BaseException:
        engine.dispose()
        raise
    yield engine
    engine.dispose()


def _timeouts(settings: Settings) -> HttpTimeouts:
    return HttpTimeouts(connect=settings.ideaforge_http_connect_timeout, read=settings.ideaforge_http_read_timeout)


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    return build_ssl_context(settings.ideaforge_ca_bundle)


def _proxy_rules(settings: Settings, *, users: bool = False) -> ProxyRules | None:
    """The operator's proxy rules; for users' URLs only with IDEAFORGE_PROXY_USER_BASE_URLS."""
    if users and not settings.ideaforge_proxy_user_base_urls:
        return None

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return ProxyRules.from_settings(
        secret(settings.ideaforge_https_proxy), secret(settings.ideaforge_http_proxy), settings.ideaforge_no_proxy
    )


_CLIENTS: WeakKeyDictionary[LoopBridge, list[SharedHttpClient]] = WeakKeyDictionary()
"""The clients each bridge watches, so that `close` closes those made and makes none to close."""


def _watched_client(
    timeouts: HttpTimeouts,
    bridge: LoopBridge,
    *,
    public_only: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    proxy: ProxyRules | None = None,
) -> SharedHttpClient:
    """A shared client, watched by the one bridge: the process's HTTP clients must all run on the
    loop of the first request. Made on first use, not at start-up; both share one TLS context
    (`ssl_context`, made with the first client: reading the trust stores takes ~50 ms)."""
    client = build_http_client(timeouts, public_only=public_only, ssl_context=ssl_context, proxy=proxy)
    bridge.watch(client)
    _CLIENTS.setdefault(bridge, []).append(client)
    return client


def agno_telemetry(settings: Settings) -> bool:
    """Whether Agno may post its usage telemetry to Agno's servers: only if the operator sets
    IDEAFORGE_AGNO_TELEMETRY=true. While it is off, `AGNO_TELEMETRY` (read by Agno at every run,
    overriding each agent's own setting) defaults to false as well, so agents built in the users'
    own code stay quiet too; a value the operator set explicitly stands."""
    if not settings.ideaforge_agno_telemetry:
        os.environ.setdefault("AGNO_TELEMETRY", "false")
    return settings.ideaforge_agno_telemetry


def _label_key(settings: Settings) -> bytes:
    """Keys the credential labels in metrics, traces, logs and health: derived from the key ring,
    so a label names one credential the same in every worker and across restarts. Never makes a
    key file, the data folder or a database connection (the environment alone must not): when
    there is no key ring to read yet, a key of this process's own (labels then hold within the
    process only)."""
    purpose = "ideaforge credential labels"
    if settings.ideaforge_encryption_keys is not None:
        with contextlib.suppress(ConfigurationError):
            return KeyRing.parse(settings.ideaforge_encryption_keys.get_secret_value()).derive(purpose)
    sqlite = not settings.ideaforge_database_url or settings.ideaforge_database_url.startswith("sqlite")
    key_file = settings.ideaforge_data_dir.expanduser().resolve() / "encryption.key"
    if sqlite and key_file.exists():  # then the data folder exists: reading the key makes nothing
        with contextlib.suppress(ConfigurationError):
            return _keyring(settings, _database_url(settings)).derive(purpose)
    return secrets.token_bytes(32)


def _metrics(settings: Settings, label_key: bytes) -> PrometheusTelemetry | None:
    """Prometheus metrics, only when the operator enabled /metrics: otherwise nothing is
    collected and `prometheus_client` is not imported."""
    if not settings.metrics_enabled:
        return None
    from ideaforge_gateway.adapters.observability.prometheus_telemetry import PrometheusTelemetry

    return PrometheusTelemetry(label_key=label_key)


def _tracer_provider() -> Iterator[TracerProvider | None]:
    """OpenTelemetry's SDK, only when OTEL_EXPORTER_OTLP_* asks for traces; flushed at close."""
    from ideaforge_gateway.adapters.observability.otel_setup import tracer_provider_from_environment, tracing_configured

    provider = tracer_provider_from_environment() if tracing_configured() else None
    yield provider
    if provider is not None:
        provider.shutdown()


def _telemetry(
    label_key: bytes,
    health: ProviderHealth,
    metrics: PrometheusTelemetry | None,
    tracer_provider: TracerProvider | None,
) -> Telemetry:
    """Everything that hears the chain: the health view and warnings always, metrics and traces
    when configured."""
    from ideaforge_gateway.adapters.observability.logging_telemetry import LoggingTelemetry

    parts: list[Telemetry] = [health, LoggingTelemetry(label_key=label_key)]
    if metrics is not None:
        parts.append(metrics)
    if tracer_provider is not None:
        from ideaforge_gateway.adapters.observability.otel_telemetry import OpenTelemetryTelemetry

        parts.append(OpenTelemetryTelemetry(tracer_provider.get_tracer("ideaforge_gateway"), label_key=label_key))
    return fan_out(parts)


# Agno is imported inside these functions: `import agno.agent` costs about 0.3 s.
def _agno_agent_runner(reply: GenerateReply, bridge: LoopBridge, settings: Settings) -> AgnoAgentRunner:
    from ideaforge_gateway.adapters.agno.agno_agent_runner import AgnoAgentRunner

    return AgnoAgentRunner(reply, bridge, telemetry=agno_telemetry(settings))


def _provider_chain_model(
    reply: GenerateReply,
    bridge: LoopBridge,
    settings: Settings,
    *,
    user_id: str | None = None,
    tier: Tier | None = None,
    model: str | None = None,
) -> ProviderChainModel:
    from ideaforge_gateway.adapters.agno.chain_model import ProviderChainModel

    agno_telemetry(settings)
    return ProviderChainModel(id=ProviderChainModel.id_for(tier, model), user_id=user_id, reply=reply, bridge=bridge)


def _ai_gateway_model(
    registry: ProviderRegistry,
    bridge: LoopBridge,
    settings: Settings,
    *,
    user_id: str | None = None,
    tier: Tier | None = None,
) -> AIGatewayModel:
    from ideaforge_gateway.adapters.agno.ai_gateway_model import AIGatewayModel

    agno_telemetry(settings)
    return AIGatewayModel.for_tier(
        registry, tier, user_id=user_id, bridge=bridge, deadline=settings.ideaforge_deadline_seconds
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    gateway_config = providers.Singleton(lambda s: s.gateway_config(), settings)

    ssl_context = providers.Singleton(_ssl_context, settings)
    loop_bridge = providers.Singleton(LoopBridge)
    http_client = providers.Singleton(
        _watched_client,
        providers.Callable(_timeouts, settings),
        loop_bridge,
        ssl_context=ssl_context,
        proxy=providers.Callable(_proxy_rules, settings),
    )
    # For URLs users supply: https and public addresses only, unless the operator allows private.
    user_url_http_client = providers.Singleton(
        _watched_client,
        providers.Callable(_timeouts, settings),
        loop_bridge,
        public_only=providers.Callable(lambda s: not s.ideaforge_allow_private_base_urls, settings),
        ssl_context=ssl_context,
        proxy=providers.Callable(_proxy_rules, settings, users=True),
    )
    database_url = providers.Callable(_database_url, settings)
    keyring = providers.Singleton(_keyring, settings, database_url)
    # What the gateway tells its operators (README: Observability).
    label_key = providers.Singleton(_label_key, settings)
    provider_health = providers.Singleton(ProviderHealth, label_key=label_key)
    metrics = providers.Singleton(_metrics, settings, label_key)
    tracer_provider = providers.Resource(_tracer_provider)
    telemetry = providers.Singleton(_telemetry, label_key, provider_health, metrics, tracer_provider)

    max_response_bytes = providers.Callable(lambda s: s.ideaforge_max_response_bytes, settings)
    # Per user on both transports (a user's traffic must not starve the operator's upstreams
    # either); per host only for users' URLs, where one host's requests come from many users.
    user_bounds = providers.Singleton(
        ConcurrencyBounds, per_user=providers.Callable(lambda s: s.ideaforge_user_max_concurrent_requests, settings)
    )
    user_url_bounds = providers.Singleton(
        ConcurrencyBounds,
        per_user=providers.Callable(lambda s: s.ideaforge_user_max_concurrent_requests, settings),
        per_host=providers.Callable(lambda s: s.ideaforge_max_connections_per_host, settings),
    )
    transport = providers.Singleton(
        HttpTransport, http_client, max_response_bytes=max_response_bytes, bounds=user_bounds
    )
    user_url_transport = providers.Singleton(
        HttpTransport, user_url_http_client, max_response_bytes=max_response_bytes, bounds=user_url_bounds
    )
    catalog_view = providers.Singleton(_catalog_view, settings, transport)
    catalog_views = providers.Singleton(_catalog_views, settings, catalog_view, user_url_transport)
    provider_factory = providers.Singleton(
        _provider_factory,
        transport,
        ai_gateway=providers.Callable(_ai_gateway_defaults, settings, telemetry),
        vendors=providers.Callable(_vendor_defaults, settings),
        user_url_transport=user_url_transport,
        catalog=catalog_views,
    )
    cipher = providers.Singleton(AesGcmCipher, keyring)
    engine = providers.Resource(
        _migrated_engine,
        database_url,
        cipher,
        providers.Callable(lambda s: s.ideaforge_accept_unreadable_credentials, settings),
        providers.Callable(lambda s: s.ideaforge_database_timeout_seconds, settings),
    )
    credential_store = providers.Singleton(SqlModelCredentialStore, engine, cipher)
    user_store = providers.Singleton(SqlModelUserStore, engine)

    # The store and users as providers, resolved on first need: the environment alone never opens
    # the database (the seed's `provider_registry.has_ai_gateway()` in a host application).
    registry = providers.Singleton(
        ProviderRegistry,
        gateway_config,
        provider_factory,
        credential_store.provider,
        users=user_store.provider,
        grace=providers.Callable(lambda s: s.ideaforge_database_grace_seconds, settings),
        outage_errors=OUTAGE_ERRORS,
    )
    # What the use cases write through: off the event loop, and invalidating the registry's cache.
    credential_writes = providers.Singleton(CredentialWrites, credential_store, registry)
    authenticator = providers.Singleton(
        Authenticator,
        user_store,
        grace=providers.Callable(lambda s: s.ideaforge_database_grace_seconds, settings),
        outage_errors=OUTAGE_ERRORS,
    )
    stream_bounds = providers.Singleton(
        lambda s: StreamBounds(
            max_seconds=s.ideaforge_max_stream_seconds,
            max_bytes=s.ideaforge_max_stream_bytes,
            recheck_seconds=s.ideaforge_stream_recheck_seconds,
            idle_timeout=s.ideaforge_http_read_timeout,
        ),
        settings,
    )
    sign_in_limiter = providers.Singleton(
        WindowLimiter, providers.Callable(lambda s: s.ideaforge_sign_in_failures_per_minute, settings), 60.0
    )
    verify_limiter = providers.Singleton(
        WindowLimiter, providers.Callable(lambda s: s.ideaforge_verify_per_minute, settings), 60.0
    )

    allow_private_base_urls = providers.Callable(lambda s: s.ideaforge_allow_private_base_urls, settings)
    deadline = providers.Callable(lambda s: s.ideaforge_deadline_seconds, settings)
    verify_credentials = providers.Factory(
        VerifyCredentials,
        registry,
        provider_factory,
        credential_writes,
        allow_private_base_urls=allow_private_base_urls,
        deadline=deadline,
        catalog=catalog_view,
    )
    list_models = providers.Factory(ListModels, registry, deadline=deadline)
    retry_policy = providers.Singleton(
        lambda s: RetryPolicy(
            deadline=s.ideaforge_deadline_seconds,
            attempts_per_provider=s.ideaforge_attempts_per_provider,
            attempt_share=s.ideaforge_attempt_share,
        ),
        settings,
    )
    breakers = providers.Singleton(Breakers)
    fallback_chain = providers.Singleton(
        FallbackChain, registry, breakers, retry_policy, telemetry=telemetry,
        gate=providers.Singleton(CatalogGate, catalog_views),
    )  # fmt: skip
    generate_reply = providers.Factory(GenerateReply, registry, fallback_chain)
    configure_provider = providers.Factory(
        ConfigureProvider,
        credential_writes,
        registry,
        verify_credentials,
        allow_private_base_urls=allow_private_base_urls,
    )
    remove_provider = providers.Factory(RemoveProvider, credential_writes)
    set_provider_enabled = providers.Factory(SetProviderEnabled, credential_writes)
    list_providers = providers.Factory(ListProviders, registry)

    # Agents. `agent_model(user_id=..., tier=...)` and `ai_gateway_model(...)` are for
    # `Agent(model=...)` in the users' own code; `generate_with_agent` runs one for them.
    agent_runner = providers.Factory(_agno_agent_runner, generate_reply, loop_bridge, settings)
    generate_with_agent = providers.Factory(GenerateWithAgent, agent_runner, generate_reply)
    agent_model = providers.Factory(_provider_chain_model, generate_reply, loop_bridge, settings)
    ai_gateway_model = providers.Factory(_ai_gateway_model, registry, loop_bridge, settings)


async def close(container: Container) -> None:
    """Release what the container opened: the shared HTTP clients' sessions (on every loop that
    opened one), the bridge's background loop if synchronous calls started it, and the database
    engine, if one was made. The container stays usable: what is used again is opened again. A
    client never made is not made just to be closed (each costs a TLS context)."""
    bridge = container.loop_bridge()
    for client in _CLIENTS.get(bridge, []):
        await client.aclose()
    container.shutdown_resources()
    bridge.close()
