"""No request path waits for the database on the event loop: configure, verify, generate, /v1.

The container's credential store is wrapped in one that notes every call made on a thread that
runs an event loop (the server's); a real SQLite store does the work. With PostgreSQL such a call
would stall every request the worker serves.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers

from ideaforge_gateway.adapters.sql.sqlmodel_credential_store import SqlModelCredentialStore
from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential, Verification
from ideaforge_gateway.domain.models import ProviderName
from ideaforge_gateway.domain.ports.credential_store import CredentialStore
from tests.integration.http.conftest import bearer
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.live_server import LiveServer


class LoopGuardedStore(CredentialStore):
    """`inner`, noting each method called on a thread whose event loop is running."""

    def __init__(self, inner: CredentialStore) -> None:
        self._inner = inner
        self.on_loop: list[str] = []
        self.calls = 0

    def _check(self, name: str) -> None:
        self.calls += 1
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.on_loop.append(name)

    def get(self, user_id: str, provider: ProviderName) -> StoredCredential | None:
        self._check("get")
        return self._inner.get(user_id, provider)

    def list(self, user_id: str) -> Sequence[StoredCredential]:
        self._check("list")
        return self._inner.list(user_id)

    def save(self, user_id: str, credentials: ProviderCredentials, *, enabled: bool = True) -> StoredCredential:
        self._check("save")
        return self._inner.save(user_id, credentials, enabled=enabled)

    def save_all(
        self,
        user_id: str,
        credentials: Sequence[ProviderCredentials],
        *,
        enabled: bool = True,
        verification: Verification | None = None,
    ) -> Sequence[StoredCredential]:
        self._check("save_all")
        return self._inner.save_all(user_id, credentials, enabled=enabled, verification=verification)

    def delete(self, user_id: str, provider: ProviderName) -> bool:
        self._check("delete")
        return self._inner.delete(user_id, provider)

    def set_enabled(self, user_id: str, provider: ProviderName, enabled: bool) -> bool:
        self._check("set_enabled")
        return self._inner.set_enabled(user_id, provider, enabled)

    def record_verification(self, user_id: str, provider: ProviderName, verification: Verification) -> None:
        self._check("record_verification")
        self._inner.record_verification(user_id, provider, verification)

    def revision(self) -> int:
        self._check("revision")
        return self._inner.revision()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[LiveServer, LoopGuardedStore, FakeAIGateway]]:
    with FakeAIGateway(client_id="alice-client", client_secret="alice-secret") as gateway:
        container = container_for(tmp_path, ai_gateway_enabled=False, ideaforge_allow_private_base_urls=True)
        real = providers.Singleton(SqlModelCredentialStore, container.engine, container.cipher)
        store = LoopGuardedStore(real())
        container.credential_store.override(providers.Object(store))
        with LiveServer(container) as server:
            yield server, store, gateway


def test_configure_verify_generate_and_v1_never_touch_the_store_on_the_loop(
    guarded: tuple[LiveServer, LoopGuardedStore, FakeAIGateway],
) -> None:
    server, store, gateway = guarded
    token = server.create_user("alice")
    with httpx.Client(base_url=server.url, timeout=30, headers=bearer(token)) as client:
        configure = {
            "aiGatewayClientId": "alice-client",
            "aiGatewayClientSecret": "alice-secret",
            "aiGatewayBaseUrl": gateway.url,
            "verify": True,
        }
        assert client.post("/api/providers/configure", json=configure).status_code == 200
        assert client.post("/api/providers/verify", json={"provider": "ai_gateway"}).json()["valid"]
        given = {"provider": "ai_gateway", "api_key": "alice-client", "client_secret": "alice-secret"}
        assert client.post("/api/providers/verify", json={**given, "base_url": gateway.url}).json()["valid"]

        answer = client.post("/api/generate", json={"prompt": "hello", "tier": "fast"})
        assert answer.status_code == 200 and answer.json()["content"] == "echo: hello"
        streamed = client.post("/api/generate", json={"prompt": "hi", "stream": True})
        assert streamed.status_code == 200 and "event: done" in streamed.text

        chat = {"model": "fast", "messages": [{"role": "user", "content": "v1"}]}
        assert client.post("/v1/chat/completions", json=chat).json()["choices"][0]["message"]["content"] == "echo: v1"
        with client.stream("POST", "/v1/chat/completions", json={**chat, "stream": True}) as events:
            lines = [line for line in events.iter_lines() if line.startswith("data: ")]
        assert lines[-1] == "data: [DONE]" and "echo" in "".join(json.loads(x[6:])["choices"][0]["delta"].get(
            "content", "") for x in lines[:-1] if json.loads(x[6:])["choices"])  # fmt: skip

        assert client.patch("/api/providers/ai_gateway", json={"enabled": False}).status_code == 200
        assert client.delete("/api/providers/ai_gateway").status_code == 204

    assert store.calls > 0  # the guard was in the path
    assert store.on_loop == []
