"""Configure, verify, list and remove, with fakes of the ports."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from ideaforge_gateway.application.credential_writes import CredentialWrites
from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.application.use_cases.configure_provider import ConfigureProvider, ConfigureRequest
from ideaforge_gateway.application.use_cases.list_providers import ListProviders
from ideaforge_gateway.application.use_cases.remove_provider import (
    EnableRequest,
    RemoveProvider,
    RemoveRequest,
    SetProviderEnabled,
)
from ideaforge_gateway.application.use_cases.verify_credentials import VerifyCredentials, VerifyRequest
from ideaforge_gateway.domain.config import GatewayConfig, ProviderDefaults, TierModels
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials, StoredCredential, Verification
from ideaforge_gateway.domain.errors import AuthenticationError, InvalidRequestError
from ideaforge_gateway.domain.models import ProviderName
from tests.unit.fakes import FakeCredentialStore, FakeProviderFactory

GW = ProviderName.AI_GATEWAY
OPENAI = ProviderName.OPENAI


class Wiring:
    def __init__(self, *, allow_private: bool = False, env_openai: str | None = None) -> None:
        tiers = TierModels("f", "s", "p")
        providers = {p: ProviderDefaults(p, tiers) for p in ProviderName}
        if env_openai:
            providers[OPENAI] = ProviderDefaults(OPENAI, tiers, ProviderCredentials(OPENAI, SecretStr(env_openai)))
        self.store = FakeCredentialStore()
        self.factory = FakeProviderFactory()
        self.registry = ProviderRegistry(GatewayConfig(providers), self.factory, self.store)
        self.writes = CredentialWrites(self.store, self.registry)
        self.verify = VerifyCredentials(self.registry, self.factory, self.writes)
        self.configure = ConfigureProvider(
            self.writes, self.registry, self.verify, allow_private_base_urls=allow_private
        )


def gateway(client_id: str = "cid", secret: str | None = "sec", **kw: object) -> ProviderCredentials:
    return ProviderCredentials(
        GW,
        SecretStr(client_id),
        SecretStr(secret) if secret is not None else None,
        **kw,  # type: ignore[arg-type]
    )


async def test_configure_stores_and_the_next_request_uses_it() -> None:
    w = Wiring()
    assert not w.registry.has_ai_gateway("alice")
    result = await w.configure.execute(ConfigureRequest("alice", gateway(base_url="https://gw.example.com/")))
    assert result.stored is not None
    assert w.registry.has_ai_gateway("alice")
    stored = w.store.get("alice", GW)
    assert stored is not None and stored.credentials is not None
    assert stored.credentials.base_url == "https://gw.example.com"


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (gateway(client_id=" "), "client id must not be empty"),
        (gateway(secret=None), "client secret must not be empty"),
        (gateway(secret=""), "client secret must not be empty"),
        (ProviderCredentials(OPENAI, SecretStr("")), "API key must not be empty"),
        (gateway(base_url="http://gw.example.com"), "must use https"),
        (gateway(base_url="https://127.0.0.1:8443"), "public address"),
        (gateway(base_url="https://169.254.169.254"), "public address"),
        (gateway(base_url="https://[::ffff:10.0.0.1]"), "public address"),
        (gateway(base_url="https://localhost"), "public address"),
        (gateway(base_url="https://user:pw@gw.example.com"), "user name or password"),
        (gateway(token_url="ftp://gw.example.com/token"), "token URL must use https"),
    ],
)
async def test_configure_refuses_bad_input_with_a_clear_message(credentials: ProviderCredentials, message: str) -> None:
    w = Wiring()
    with pytest.raises(InvalidRequestError, match=message):
        await w.configure.execute(ConfigureRequest("alice", credentials))
    assert w.store.rows == {}


async def test_private_base_urls_are_allowed_when_the_operator_says_so() -> None:
    w = Wiring(allow_private=True)
    result = await w.configure.execute(ConfigureRequest("alice", gateway(base_url="http://127.0.0.1:8080")))
    assert result.stored is not None


async def test_verify_first_stores_nothing_when_verification_fails() -> None:
    w = Wiring()
    w.factory.failures["bad"] = AuthenticationError("AI Gateway rejected the client credentials (invalid_client)")
    result = await w.configure.execute(ConfigureRequest("alice", gateway(client_id="bad"), verify_first=True))
    assert result.stored is None
    assert result.verification is not None and not result.verification.valid
    assert "invalid_client" in (result.verification.error or "")
    assert w.store.rows == {}


async def test_verify_records_the_outcome_on_the_stored_credential() -> None:
    w = Wiring()
    await w.configure.execute(ConfigureRequest("alice", gateway()))
    result = await w.verify.execute(VerifyRequest(GW, user_id="alice"))
    assert result.valid and [m.id for m in result.models] == ["ai_gateway-model"]
    stored = w.store.get("alice", GW)
    assert stored is not None and stored.verification is not None and stored.verification.ok


async def test_verify_given_credentials_stores_and_caches_nothing() -> None:
    w = Wiring()
    result = await w.verify.execute(VerifyRequest(GW, gateway(), user_id="alice"))
    assert result.valid
    assert w.store.rows == {}
    assert not w.registry.has_ai_gateway("alice")


async def test_verify_without_anything_configured_is_a_result_not_an_exception() -> None:
    result = await Wiring().verify.execute(VerifyRequest(GW, user_id="alice"))
    assert not result.valid and result.error is not None and "not configured" in result.error


async def test_remove_falls_back_to_the_environment() -> None:
    w = Wiring(env_openai="env-key")
    await w.configure.execute(ConfigureRequest("alice", ProviderCredentials(OPENAI, SecretStr("mine"))))
    assert w.registry.require(OPENAI, "alice").source == "user"
    assert await RemoveProvider(w.writes).execute(RemoveRequest("alice", OPENAI))
    assert w.registry.require(OPENAI, "alice").source == "environment"
    assert not await RemoveProvider(w.writes).execute(RemoveRequest("alice", OPENAI))


async def test_disable_keeps_the_credentials_and_enable_restores_them() -> None:
    w = Wiring()
    await w.configure.execute(ConfigureRequest("alice", gateway()))
    toggle = SetProviderEnabled(w.writes)
    assert await toggle.execute(EnableRequest("alice", GW, False))
    assert not w.registry.has_ai_gateway("alice")
    assert w.store.get("alice", GW) is not None
    assert await toggle.execute(EnableRequest("alice", GW, True))
    assert w.registry.has_ai_gateway("alice")


async def test_list_providers_reports_status_and_never_a_secret() -> None:
    w = Wiring(env_openai="env-key-canary")
    await w.configure.execute(
        ConfigureRequest("alice", gateway(client_id="cid-canary", secret="sec-canary", default_model="gpt-4.1"))
    )
    w.store.save("alice", ProviderCredentials(ProviderName.GEMINI, SecretStr("gem-canary")))
    w.store.break_row("alice", ProviderName.GEMINI, "cannot be decrypted: configure gemini again")

    statuses = {s.provider: s for s in ListProviders(w.registry).execute("alice")}

    assert statuses[GW].source == "user" and statuses[GW].usable and statuses[GW].default_model == "gpt-4.1"
    assert statuses[OPENAI].source == "environment" and statuses[OPENAI].usable
    assert statuses[ProviderName.GEMINI].needs_reconfiguration and not statuses[ProviderName.GEMINI].usable
    assert statuses[ProviderName.ANTHROPIC].configured is False
    assert "canary" not in repr(list(statuses.values()))


class ThreadRecordingStore(FakeCredentialStore):
    """Records whether each call ran on a thread that runs an event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.on_loop: list[str] = []

    def _note(self, name: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.on_loop.append(name)

    def get(self, user_id: str, provider: ProviderName) -> StoredCredential | None:
        self._note("get")
        return super().get(user_id, provider)

    def save(self, user_id: str, credentials: ProviderCredentials, *, enabled: bool = True) -> StoredCredential:
        self._note("save")
        return super().save(user_id, credentials, enabled=enabled)

    def save_all(
        self,
        user_id: str,
        credentials: Sequence[ProviderCredentials],
        *,
        enabled: bool = True,
        verification: Verification | None = None,
    ) -> Sequence[StoredCredential]:
        self._note("save_all")
        return super().save_all(user_id, credentials, enabled=enabled, verification=verification)

    def delete(self, user_id: str, provider: ProviderName) -> bool:
        self._note("delete")
        return super().delete(user_id, provider)

    def set_enabled(self, user_id: str, provider: ProviderName, enabled: bool) -> bool:
        self._note("set_enabled")
        return super().set_enabled(user_id, provider, enabled)

    def record_verification(self, user_id: str, provider: ProviderName, verification: Verification) -> None:
        self._note("record_verification")
        super().record_verification(user_id, provider, verification)


async def test_every_write_runs_off_the_loop_and_invalidates_the_users_cache() -> None:
    store = ThreadRecordingStore()
    config = GatewayConfig({p: ProviderDefaults(p, TierModels("f", "s", "p")) for p in ProviderName})
    registry = ProviderRegistry(config, FakeProviderFactory(), store)
    writes = CredentialWrites(store, registry)
    assert registry.resolve(OPENAI, "alice") is None  # now cached: nothing stored

    await writes.save("alice", ProviderCredentials(OPENAI, SecretStr("k")))
    assert registry.resolve(OPENAI, "alice") is not None  # the write dropped the cached "nothing"
    await writes.set_enabled("alice", OPENAI, False)
    assert registry.resolve(OPENAI, "alice") is None
    await writes.record_verification("alice", OPENAI, Verification(True, datetime.now(UTC)))
    assert registry.stored("alice")[OPENAI].verification is not None
    assert await writes.get("alice", OPENAI) is not None
    assert await writes.delete("alice", OPENAI)
    assert registry.stored("alice") == {}
    assert store.on_loop == []


STORED_AT = {"base_url": "https://gw.example.com", "token_url": "https://login.example.com/token"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"base_url": "https://attacker.example.com"}, "base URL"),
        ({"base_url": None}, "base URL"),  # back to the default is a new destination too
        ({"token_url": "https://attacker.example.com/token"}, "token URL"),
        ({"auth_method": AuthMethod.STATIC_KEY}, "auth method"),
    ],
)
@pytest.mark.parametrize("client_id", ["cid", ""])  # the same id given again, or left out
async def test_a_stored_secret_never_follows_a_new_destination(
    change: dict[str, object], named: str, client_id: str
) -> None:
    w = Wiring()
    await w.configure.execute(ConfigureRequest("alice", gateway(**STORED_AT)))
    with pytest.raises(InvalidRequestError, match=f"{named} changed") as caught:
        await w.configure.execute(ConfigureRequest("alice", gateway(client_id, None, **{**STORED_AT, **change})))
    assert caught.value.param == "client_secret"
    stored = w.store.get("alice", GW)
    assert stored is not None and stored.credentials is not None
    assert stored.credentials.base_url == STORED_AT["base_url"]  # nothing was replaced
    # With the secret given again, the change is made.
    again = await w.configure.execute(
        ConfigureRequest("alice", gateway(client_id or "cid", "sec", **{**STORED_AT, **change}))
    )
    assert again.stored is not None


async def test_the_same_destination_keeps_the_stored_secret_and_id() -> None:
    w = Wiring()
    await w.configure.execute(ConfigureRequest("alice", gateway(**STORED_AT)))
    kept = await w.configure.execute(
        ConfigureRequest(
            "alice",
            gateway(
                "", None, base_url="https://gw.example.com/", token_url=STORED_AT["token_url"], default_model="gpt-4o"
            ),
        )
    )
    assert kept.stored is not None and kept.stored.credentials is not None
    creds = kept.stored.credentials
    assert creds.api_key.get_secret_value() == "cid" and creds.client_secret is not None
    assert creds.client_secret.get_secret_value() == "sec" and creds.default_model == "gpt-4o"


async def test_a_new_client_id_needs_its_own_secret() -> None:
    w = Wiring()
    await w.configure.execute(ConfigureRequest("alice", gateway(**STORED_AT)))
    with pytest.raises(InvalidRequestError, match="client secret must not be empty"):
        await w.configure.execute(ConfigureRequest("alice", gateway("another", None, **STORED_AT)))
