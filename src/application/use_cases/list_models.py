from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ideaforge_gateway.application.registry import ProviderRegistry, ResolvedProvider
from ideaforge_gateway.domain.errors import GatewayError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ModelInfo, ProviderName
from ideaforge_gateway.domain.tenancy import acting_for


@dataclass(frozen=True, slots=True)
class ListModelsRequest:
    provider: ProviderName | None = None
    """One provider, or None for every provider the user may use."""
    user_id: str | None = None


class ListModels:
    """The models a user can reach.

    - With a provider: that provider's list, or its error (not configured, rejected, or no answer
      within `deadline` seconds).
    - Without: every usable provider's models, in priority order, asked at the same time; a
      provider that fails or does not answer within `deadline` is left out rather than failing
      (or holding up) the whole list.
    """

    def __init__(self, registry: ProviderRegistry, *, deadline: float = 60.0) -> None:
        self._registry = registry
        self._deadline = deadline

    async def execute(self, request: ListModelsRequest) -> list[ModelInfo]:
        with acting_for(request.user_id):  # the transport bounds each user's requests
            return await self._execute(request)

    async def _execute(self, request: ListModelsRequest) -> list[ModelInfo]:
        await self._registry.load(request.user_id)
        if request.provider is not None:
            resolved = self._registry.require(request.provider, request.user_id)
            return await self._list(resolved)
        usable = self._registry.usable(request.user_id)
        answers = await asyncio.gather(*(self._list(r) for r in usable), return_exceptions=True)
        models: list[ModelInfo] = []
        for answer in answers:
            if isinstance(answer, GatewayError):
                continue  # one provider's failure must not hide the others' models
            if isinstance(answer, BaseException):
                raise answer
            models.extend(answer)
        return models

    async def _list(self, resolved: ResolvedProvider) -> list[ModelInfo]:
        try:
            async with asyncio.timeout(self._deadline):
                return await self._registry.client(resolved).list_models()
        except TimeoutError:
            raise ProviderUnavailableError(
                f"{resolved.provider.value} did not list its models within {self._deadline:g} s",
                provider=resolved.provider,
            ) from None
