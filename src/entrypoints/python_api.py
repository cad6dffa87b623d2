"""The Python API a host application uses: the seed's names, over one process-wide container.

`ideaforge_gateway.provider_registry`, `AIGatewayClient`, `get_container()`, `aclose()` and
`close()` live here (`AIGatewayModel`, which imports Agno, in `python_model.py`); the package's
`__init__` imports this module on first use of one of them, so `import ideaforge_gateway` and
`ideaforge --help` stay cheap.

Everything works on any event loop, any number of them over the process's life (one HTTP session
per loop, closed as that loop shuts down), and from synchronous code. A script releases the rest
(the database engine, the background loop of synchronous calls) with `await aclose()` or
`close()`; both leave the API usable, and `close()` also runs at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from pydantic import SecretStr

from ideaforge_gateway.adapters.http.loop_bridge import default_bridge
from ideaforge_gateway.adapters.http_provider_factory import AIGatewayDefaults, HttpProviderFactory
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
from ideaforge_gateway.domain.errors import ConfigurationError, UnknownUserError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.entrypoints import gateway_settings
from ideaforge_gateway.entrypoints.container import Container
from ideaforge_gateway.entrypoints.container import close as close_container
from ideaforge_gateway.entrypoints.settings import Settings

__all__ = [
    "AIGatewayClient",
    "Container",
    "ProviderRegistryAPI",
    "UserProviders",
    "aclose",
    "close",
    "get_container",
    "provider_registry",
]

_lock = threading.Lock()
_container: Container | None = None
_close_at_exit = False


def get_container() -> Container:
    """The process's container, built from the environment (and `.env`) on first use: the one
    `provider_registry`, `AIGatewayClient` and `AIGatewayModel` use. Use it for everything else
    (`get_container().list_models()`, `.agent_model(user_id=..., tier=...)`, ...)."""
    global _container, _close_at_exit
    with _lock:
        if _container is None:
            _container = Container()
            if not _close_at_exit:
                atexit.register(_close_at_interpreter_exit)
                _close_at_exit = True
        return _container


def _take_container() -> Container | None:
    global _container
    with _lock:
        taken, _container = _container, None
        return taken


async def aclose() -> None:
    """Release what the API opened: HTTP sessions (on every loop), the background loop of
    synchronous calls, the database engine. The API stays usable: the next use starts afresh
    from the environment (clients obtained before keep working, on their own)."""
    container = _take_container()
    if container is not None:
        await close_container(container)
    default_bridge().close()


def close() -> None:
    """`aclose()` for synchronous code. Called from a running event loop's thread, it releases
    what it can without awaiting; that loop's own sessions close as the loop shuts down."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(aclose())
        return
    container = _take_container()
    if container is not None:
        container.shutdown_resources()
        container.loop_bridge().close()
    default_bridge().close()


def _close_at_interpreter_exit() -> None:
    """`close()`, at exit: a failure there could only print a traceback after the program's end."""
    try:
        close()
    except Exception:  # nothing is left to report it to but the debug log
        logging.getLogger("ideaforge").debug("closing at exit failed", exc_info=True)


def user_id_for(container: Container, user: str) -> str:
    """The id of the active user whose id or, failing that, name is `user`; else `UnknownUserError`."""
    users = container.user_store()
    found = users.get(user) or users.get_by_name(user)
    if found is None or not found.active:
        raise UnknownUserError(user, revoked=found is not None)
    return found.id


class AIGatewayClient(LLMProvider):
    """The seed's `AIGatewayClient`: list models and chat through the AI Gateway, with
    service-account tokens refreshed before they expire.

    - `AIGatewayClient(client_id, client_secret, base_url=None, *, token_url=None,
      auth_method=None, scope=None, audience=None, openai_base_url=None, anthropic_base_url=None,
      gemini_base_url=None, azure_base_url=None, instance_id=None, env=None, region=None,
      route_template=None)`: these credentials; an instance id derives every family's route
      (README, "Connecting to the AI Gateway"), each `*_base_url` overrides its family's.
      Unset options are the environment's (`AI_GATEWAY_*`) when the base URL is the
      environment's (or not given); for another gateway, the token endpoint is discovered from
      its base URL. Arguments are trusted as the operator's (loopback and plain http
      allowed): never pass a URL a user typed unchecked.
    - `provider_registry.get_ai_gateway_client(...)`: the environment's or a user's gateway.
    - `await list_models()`, `await verify()` (a token, then the models), `await chat(request)`,
      `stream(request)` (async iterator of deltas). Failures raise the domain's `GatewayError`
      types, whose messages never hold a secret.
    - Clients share the process's HTTP client; `ideaforge_gateway.aclose()` releases it.
    """

    def __init__(
        self,
        client_id: str | SecretStr,
        client_secret: str | SecretStr,
        base_url: str | None = None,
        *,
        token_url: str | None = None,
        auth_method: AuthMethod | str | None = None,
        scope: str | None = None,
        audience: str | None = None,
        openai_base_url: str | None = None,
        anthropic_base_url: str | None = None,
        gemini_base_url: str | None = None,
        azure_base_url: str | None = None,
        instance_id: str | None = None,
        env: str | None = None,
        region: str | None = None,
        route_template: str | None = None,
    ) -> None:
        container = get_container()
        operator = container.settings()
        urls = _checked_urls(
            ai_gateway_base_url=base_url,
            ai_gateway_token_url=token_url,
            ai_gateway_openai_base_url=openai_base_url,
            ai_gateway_anthropic_base_url=anthropic_base_url,
            ai_gateway_gemini_base_url=gemini_base_url,
            ai_gateway_azure_base_url=azure_base_url,
        )
        own = urls["ai_gateway_base_url"] in (None, operator.ai_gateway_base_url)

        def option(name: str, value: object) -> object:
            return value if value is not None else (getattr(operator, name) if own else None)

        defaults = AIGatewayDefaults(
            base_url=urls["ai_gateway_base_url"] or operator.ai_gateway_base_url,
            auth_method=_auth_method(option("ai_gateway_auth_method", auth_method)),
            token_url=_str(option("ai_gateway_token_url", urls["ai_gateway_token_url"])),
            scope=_str(option("ai_gateway_scope", scope)),
            audience=_str(option("ai_gateway_audience", audience)),
            openai_route=_str(option("ai_gateway_openai_base_url", urls["ai_gateway_openai_base_url"])),
            anthropic_route=_str(option("ai_gateway_anthropic_base_url", urls["ai_gateway_anthropic_base_url"])),
            gemini_route=_str(option("ai_gateway_gemini_base_url", urls["ai_gateway_gemini_base_url"])),
            azure_route=_str(option("ai_gateway_azure_base_url", urls["ai_gateway_azure_base_url"])),
            azure_api_version=operator.ai_gateway_azure_api_version,
            **_deployment(
                instance_id=option("ai_gateway_instance_id", instance_id),
                env=option("ai_gateway_env", env),
                region=option("ai_gateway_region", region),
                route_template=option("ai_gateway_route_template", route_template),
            ),
        )
        http = container.transport()
        credentials = ProviderCredentials(
            provider=ProviderName.AI_GATEWAY, api_key=_secret(client_id), client_secret=_secret(client_secret)
        )
        self._provider = HttpProviderFactory(http, ai_gateway=defaults, user_url_transport=http).build(credentials)
        self._base_url: str | None = defaults.base_url

    @classmethod
    def of(cls, provider: LLMProvider) -> AIGatewayClient:
        """The seed's face on an AI Gateway provider the registry built."""
        client = cls.__new__(cls)
        client._provider = provider
        client._base_url = None
        return client

    def __repr__(self) -> str:
        return f"AIGatewayClient(base_url={self._base_url!r})" if self._base_url else "AIGatewayClient()"

    @property
    def name(self) -> ProviderName:
        return ProviderName.AI_GATEWAY

    @property
    def provider(self) -> LLMProvider:
        """The provider behind this client (for `AIGatewayModel(gateway=...)` and the like)."""
        return self._provider

    async def list_models(self) -> list[ModelInfo]:
        return await self._provider.list_models()

    async def verify(self) -> list[ModelInfo]:
        """The seed's check: obtain a token, then list models; raises if either fails."""
        verify = getattr(self._provider, "verify", None)
        return await (verify() if verify is not None else self._provider.list_models())

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self._provider.chat(request)

    def stream(self, request: ChatRequest) -> DeltaStream:
        """`async with client.stream(request) as deltas:` (the `LLMProvider` contract), or
        `async for delta in client.stream(request)` as the seed's scripts write it."""
        return DeltaStream(self._provider.stream(request))


class DeltaStream(AbstractAsyncContextManager[AsyncIterator[StreamDelta]]):
    """A provider's stream, entered with `async with` or iterated directly: iterating opens it,
    and closes it when the iteration ends or is left."""

    def __init__(self, opened: AbstractAsyncContextManager[AsyncIterator[StreamDelta]]) -> None:
        self._opened = opened

    async def __aenter__(self) -> AsyncIterator[StreamDelta]:
        return await self._opened.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._opened.__aexit__(*exc_info)

    def __aiter__(self) -> AsyncGenerator[StreamDelta, None]:
        return self._iterate()

    async def _iterate(self) -> AsyncGenerator[StreamDelta, None]:
        async with self._opened as deltas:
            async for delta in deltas:
                yield delta


class UserProviders:
    """The seed's registry methods for one user: their own credentials, else the environment's."""

    def __init__(self, registry: ProviderRegistry, user_id: str | None) -> None:
        self._registry = registry
        self.user_id = user_id

    def __repr__(self) -> str:
        return f"UserProviders(user_id={self.user_id!r})"

    def has_ai_gateway(self) -> bool:
        return self._registry.has_ai_gateway(self.user_id)

    def get_ai_gateway_client(self) -> AIGatewayClient:
        """The AI Gateway client this user would use; `ConfigurationError` saying why if none."""
        return AIGatewayClient.of(self._registry.get_ai_gateway_client(self.user_id))


class ProviderRegistryAPI:
    """`ideaforge_gateway.provider_registry`: the seed's `provider_registry`, built from the
    environment on first use (the database is opened only for a user's credentials).

    - `has_ai_gateway(user_id=None)`, `get_ai_gateway_client(user_id=None)`: the environment's
      AI Gateway, or a user's (their own credentials win over the environment's).
    - `for_user(user)`: the same for one user. Wherever a user is named, an id or a user name
      (`ideaforge users create NAME`) is taken, the id first; an unknown or revoked user raises
      `UnknownUserError` naming them, never falls back to the environment's credentials.
    - `registry`: the application's `ProviderRegistry`, for everything else it resolves.
    Synchronous: a user's credentials may be read from the database.
    """

    def __repr__(self) -> str:
        return "ProviderRegistryAPI()"

    @property
    def registry(self) -> ProviderRegistry:
        registry: ProviderRegistry = get_container().registry()
        return registry

    def for_user(self, user: str | None) -> UserProviders:
        container = get_container()
        return UserProviders(container.registry(), None if user is None else user_id_for(container, user))

    def has_ai_gateway(self, user_id: str | None = None) -> bool:
        return self.for_user(user_id).has_ai_gateway()

    def get_ai_gateway_client(self, user_id: str | None = None) -> AIGatewayClient:
        return self.for_user(user_id).get_ai_gateway_client()


provider_registry = ProviderRegistryAPI()


def _checked_urls(**urls: str | None) -> dict[str, str | None]:
    """The URL options, checked and normalised by the settings' rule for the same variables."""
    checked: dict[str, str | None] = {}
    for name, value in urls.items():
        try:
            checked[name] = None if value is None else Settings._http_url(value)
        except ValueError as exc:
            raise ConfigurationError(f"{name.removeprefix('ai_gateway_')} {exc}") from None
    return checked


def _deployment(**given: object) -> dict[str, Any]:
    """The deployment options that are set, checked by the settings' rules for the same
    variables (`AI_GATEWAY_INSTANCE_ID`, ...)."""
    checked: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        try:
            checked[name] = gateway_settings.DEPLOYMENT_RULES[name](str(value))
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
    return checked


def _auth_method(value: object) -> AuthMethod:
    try:
        return AuthMethod(_str(value) or AuthMethod.CLIENT_SECRET_BASIC)
    except ValueError:
        known = ", ".join(m.value for m in AuthMethod)
        raise ConfigurationError(f"auth_method must be one of {known}") from None


def _secret(value: str | SecretStr) -> SecretStr:
    secret = value if isinstance(value, SecretStr) else SecretStr(value)
    if not secret.get_secret_value().strip():
        raise ConfigurationError("the AI Gateway client id and secret must not be empty")
    return secret


def _str(value: object) -> str | None:
    return None if value is None else str(value)
