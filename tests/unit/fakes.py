"""Hand-written fakes of the ports, for unit tests of the application (no I/O, no patching)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import replace

from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential, Verification
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta
from ideaforge_gateway.domain.ports.credential_store import CredentialStore
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider
from ideaforge_gateway.domain.ports.provider_factory import ProviderFactory


class FakeLLMProvider(LLMProvider):
    def __init__(self, credentials: ProviderCredentials, failure: GatewayError | None = None) -> None:
        self.credentials = credentials
        self.failure = failure
        self.calls: list[ChatRequest] = []

    @property
    def name(self) -> ProviderName:
        return self.credentials.provider

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.calls.append(request)
        if self.failure:
            raise self.failure
        key = self.credentials.api_key.get_secret_value()
        return ChatResponse(provider=self.name, model=request.model, content=f"{self.name.value}:{key}")

    @asynccontextmanager
    async def stream(self, request: ChatRequest) -> AsyncIterator[AsyncIterator[StreamDelta]]:
        async with aclosing(self.deltas(request)) as deltas:
            yield deltas

    async def deltas(self, request: ChatRequest) -> AsyncGenerator[StreamDelta, None]:
        response = await self.chat(request)
        yield StreamDelta(content=response.content)

    async def list_models(self) -> list[ModelInfo]:
        if self.failure:
            raise self.failure
        return [ModelInfo(id=f"{self.name.value}-model", provider=self.name)]


class FakeProviderFactory(ProviderFactory):
    def __init__(self) -> None:
        self.built: list[FakeLLMProvider] = []
        self.failures: dict[str, GatewayError] = {}
        """API key -> the error its provider raises."""

    def build(self, credentials: ProviderCredentials) -> FakeLLMProvider:
        provider = FakeLLMProvider(credentials, self.failures.get(credentials.api_key.get_secret_value()))
        self.built.append(provider)
        return provider


class FakeCredentialStore(CredentialStore):
    def __init__(self) -> None:
        self.rows: dict[tuple[str, ProviderName], StoredCredential] = {}
        self._revision = 0
        self.list_calls = 0

    def get(self, user_id: str, provider: ProviderName) -> StoredCredential | None:
        return self.rows.get((user_id, provider))

    def list(self, user_id: str) -> Sequence[StoredCredential]:
        self.list_calls += 1
        return [row for (uid, _), row in self.rows.items() if uid == user_id]

    def save(self, user_id: str, credentials: ProviderCredentials, *, enabled: bool = True) -> StoredCredential:
        row = StoredCredential(user_id, credentials.provider, credentials, enabled=enabled)
        self.rows[(user_id, credentials.provider)] = row
        self._revision += 1
        return row

    def save_all(
        self,
        user_id: str,
        credentials: Sequence[ProviderCredentials],
        *,
        enabled: bool = True,
        verification: Verification | None = None,
    ) -> Sequence[StoredCredential]:
        rows = [
            StoredCredential(user_id, c.provider, c, enabled=enabled, verification=verification) for c in credentials
        ]
        for row in rows:
            self.rows[(user_id, row.provider)] = row
        self._revision += 1
        return rows

    def delete(self, user_id: str, provider: ProviderName) -> bool:
        self._revision += 1
        return self.rows.pop((user_id, provider), None) is not None

    def set_enabled(self, user_id: str, provider: ProviderName, enabled: bool) -> bool:
        row = self.rows.get((user_id, provider))
        if row is None:
            return False
        self.rows[(user_id, provider)] = replace(row, enabled=enabled)
        self._revision += 1
        return True

    def record_verification(self, user_id: str, provider: ProviderName, verification: Verification) -> None:
        row = self.rows.get((user_id, provider))
        if row is not None:
            self.rows[(user_id, provider)] = replace(row, verification=verification)

    def revision(self) -> int:
        return self._revision

    def break_row(self, user_id: str, provider: ProviderName, reason: str) -> None:
        """Make a row unreadable, as a lost key would."""
        row = self.rows[(user_id, provider)]
        self.rows[(user_id, provider)] = replace(row, credentials=None, unreadable_reason=reason)
        self._revision += 1
