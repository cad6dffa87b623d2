"""The ports: what the application needs from the world, as Protocols with contracts."""

from ideaforge_gateway.domain.ports.agent_runner import AgentRunner
from ideaforge_gateway.domain.ports.credential_store import CredentialStore
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.domain.ports.provider_factory import ProviderFactory
from ideaforge_gateway.domain.ports.token_source import TokenSource
from ideaforge_gateway.domain.ports.user_store import UserStore

__all__ = ["AgentRunner", "CredentialStore", "LLMProvider", "ProviderFactory", "TokenSource", "UserStore"]
