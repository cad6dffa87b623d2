"""The registry over the real store: a change made by another process is used within 1 s.

The reader's clock is a fake one, advanced by hand: the verdict follows the registry's rule (look
again at least every `revision_interval`, 0.5 s), never the machine's speed."""

from __future__ import annotations

from pydantic import SecretStr

from ideaforge_gateway.adapters.crypto import AesGcmCipher
from ideaforge_gateway.adapters.sql import SqlModelCredentialStore, SqlModelUserStore
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.config import GatewayConfig, ProviderDefaults, TierModels
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import ProviderName
from tests.integration.store.conftest import Database
from tests.unit.fakes import FakeProviderFactory

OPENAI = ProviderName.OPENAI


def config() -> GatewayConfig:
    tiers = TierModels("f", "s", "p")
    env = ProviderCredentials(OPENAI, SecretStr("env-key"))
    providers = {p: ProviderDefaults(p, tiers) for p in ProviderName}
    providers[OPENAI] = ProviderDefaults(OPENAI, tiers, credentials=env)
    return GatewayConfig(providers)


def test_a_change_through_one_process_is_used_by_another_within_a_second(
    database: Database, cipher: AesGcmCipher
) -> None:
    # Two engines on one database stand for two worker processes.
    writer_store = SqlModelCredentialStore(database.engine(), cipher)
    now = [0.0]
    reader = ProviderRegistry(
        config(), FakeProviderFactory(), SqlModelCredentialStore(database.engine(), cipher), clock=lambda: now[0]
    )
    alice = SqlModelUserStore(database.engine()).create("alice")[0].id
    bob = SqlModelUserStore(database.engine()).create("bob")[0].id

    def key_for(user: str) -> str:
        resolved = reader.require(OPENAI, user)
        return resolved.credentials.api_key.get_secret_value()

    assert key_for(alice) == "env-key"
    writer_store.save(alice, ProviderCredentials(OPENAI, SecretStr("alice-key")))

    now[0] += 0.5  # the revision interval: the longest a reader goes without looking again
    assert key_for(alice) == "alice-key", "the change was not seen after the revision interval"
    assert key_for(bob) == "env-key"  # only alice's settings changed

    writer_store.set_enabled(alice, OPENAI, False)
    now[0] += 0.5
    assert reader.resolve(OPENAI, alice) is None
    assert key_for(bob) == "env-key"
