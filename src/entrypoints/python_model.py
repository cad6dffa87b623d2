"""`ideaforge_gateway.AIGatewayModel`: the seed's Agno model, on the process's container.

Apart from `python_api.py` because it imports Agno (about 0.8 s), which a host that only lists
models should not pay for.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from pydantic import SecretStr

from ideaforge_gateway.adapters.agno.ai_gateway_model import AIGatewayModel as AgnoAIGatewayModel
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.entrypoints.container import agno_telemetry
from ideaforge_gateway.entrypoints.python_api import AIGatewayClient, get_container, user_id_for

_direct_lock = threading.Lock()
_direct: dict[tuple[str, str, str | None], AIGatewayClient] = {}


@dataclass
class AIGatewayModel(AgnoAIGatewayModel):
    """`Agent(model=AIGatewayModel(id="gpt-4o"))`: chat through the AI Gateway, sync or async,
    streamed or not, with tools and usage; also as one of Agno's `fallback_models`, and after
    Agno's deep copies (which share the gateway and token cache).

    - `AIGatewayModel(id=...)`: the environment's AI Gateway (`AI_GATEWAY_CLIENT_ID`, `_SECRET`,
      `_BASE_URL`, ... with `AI_GATEWAY_ENABLED=true`), looked up at each call.
    - `user_id=`: that user's AI Gateway (their own credentials, else the environment's); an id
      or a user name; an unknown or revoked user fails the call with an error naming them.
    - `deadline` (seconds) bounds each call until its answer starts; by default
      `IDEAFORGE_DEADLINE_SECONDS`, as everywhere.
    - `client_id=`, `client_secret=` (and `base_url=`): these credentials, as
      `AIGatewayClient(client_id, client_secret, base_url)`; for its other options pass
      `gateway=AIGatewayClient(...)`. The secrets never appear in `repr`.
    """

    client_id: str | SecretStr | None = field(default=None, repr=False, compare=False)
    client_secret: str | SecretStr | None = field(default=None, repr=False, compare=False)
    base_url: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[no-untyped-call]  # Agno's is untyped
        settings = get_container().settings()
        agno_telemetry(settings)  # off unless the operator turned it on
        if self.deadline is None:
            self.deadline = settings.ideaforge_deadline_seconds
        if (self.client_id is None) != (self.client_secret is None):
            raise ConfigurationError("AIGatewayModel takes client_id and client_secret together, or neither")
        for name in ("client_id", "client_secret"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, SecretStr(value))
        if isinstance(self.gateway, AIGatewayClient):
            self.gateway = self.gateway.provider

    async def _gateway(self) -> LLMProvider:
        if self.gateway is not None:
            return self.gateway
        if self.client_id is not None and self.client_secret is not None:
            return _client_for(self.client_id, self.client_secret, self.base_url).provider
        if self.user_id is None:
            return await super()._gateway()
        user = self.user_id
        user_id = await asyncio.to_thread(user_id_for, get_container(), user)
        registry = self._registry()
        await registry.load(user_id)
        return registry.get_ai_gateway_client(user_id)

    def _registry(self) -> ProviderRegistry:
        if self.registry is not None:
            return self.registry
        registry: ProviderRegistry = get_container().registry()
        return registry


def _client_for(client_id: str | SecretStr, client_secret: str | SecretStr, base_url: str | None) -> AIGatewayClient:
    """One client per credentials in the process, so that copies of a model share its token."""
    key = (_value(client_id), _value(client_secret), base_url)
    with _direct_lock:
        client = _direct.get(key)
        if client is None:
            client = _direct[key] = AIGatewayClient(client_id, client_secret, base_url)
        return client


def _value(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret
