"""The ports: what the application needs from the world, as Protocols with contracts."""

from domain.ports.agent_runner import AgentRunner
from domain.ports.credential_store import CredentialStore
from domain.ports.llm_provider import LLMProvider
from domain.ports.provider_factory import ProviderFactory
from domain.ports.token_source import TokenSource
from domain.ports.user_store import UserStore

__all__ = ["AgentRunner", "CredentialStore", "LLMProvider", "ProviderFactory", "TokenSource", "UserStore"]
