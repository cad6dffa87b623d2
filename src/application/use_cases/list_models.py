from __future__ import annotations

from dataclasses import dataclass

from application.registry import ProviderRegistry
from domain.errors import GatewayError
from domain.models import ModelInfo, ProviderName


@dataclass(frozen=True, slots=True)
class ListModelsRequest:
    provider: ProviderName | None = None
    """One provider, or None for every provider the user may use."""
    user_id: str | None = None


class ListModels:
    """The models a user can reach.

    - With a provider: that provider's list, or its error (not configured, rejected...).
    - Without: every usable provider's models, in priority order; a provider that fails is left
      out rather than failing the whole list.
    """

    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry

    async def execute(self, request: ListModelsRequest) -> list[ModelInfo]:
        if request.provider is not None:
            resolved = self._registry.require(request.provider, request.user_id)
            return await self._registry.client(resolved).list_models()
        models: list[ModelInfo] = []
        for resolved in self._registry.usable(request.user_id):
            try:
                models.extend(await self._registry.client(resolved).list_models())
            except GatewayError:  # one provider's failure must not hide the others' models
                continue
        return models
