"""An AI Gateway instance's model catalog, as the domain sees it: which models the instance may
use, through which family, at what price and classification.

The catalog answers (`GET {api}/v1/catalog/models`) a list of providers (families), each with a
classification 0-3 and endpoints listing models with their cost in US dollars per million
tokens; the adapter (`adapters/ai_gateway/catalog_client.py`) parses that into a `Catalog`.
The classification policy (`AI_GATEWAY_MAX_CLASSIFICATION`) is `within` here, pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ideaforge_gateway.domain.models import Classification, ModelInfo, ModelPrice


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One model of the catalog. `family` is the catalog's provider name (`openai`,
    `anthropic`...), `endpoint` the slug of the endpoint that lists it."""

    family: str
    endpoint: str
    model: str
    classification: Classification
    price: ModelPrice | None = None


@dataclass(frozen=True)
class Catalog:
    """The catalog's models in the order it listed them (a model listed twice keeps its first entry
    for look-ups, which are a dict's)."""

    models: tuple[CatalogModel, ...] = ()
    _index: dict[str, CatalogModel] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.models:
            self._index.setdefault(entry.model, entry)

    def find(self, model: str) -> CatalogModel | None:
        return self._index.get(model)

    def offers(self, model: str) -> bool:
        return self.find(model) is not None

    def within(self, limit: Classification | None) -> Catalog:
        """Only the models whose classification is at or below `limit` (all of them for None)."""
        if limit is None:
            return self
        return Catalog(tuple(m for m in self.models if m.classification <= limit))

    def families(self) -> list[str]:
        return list(dict.fromkeys(m.family for m in self.models))


def enrich(models: Sequence[ModelInfo], catalog: Catalog) -> list[ModelInfo]:
    """`models` with each one the catalog lists given its price and classification; the others
    unchanged."""
    enriched = []
    for info in models:
        entry = catalog.find(info.id)
        if entry is not None:
            info = replace(info, price=entry.price, classification=entry.classification)
        enriched.append(info)
    return enriched


def policy_refusal(model: str, entry: CatalogModel | None, limit: Classification | None) -> str | None:
    """Why the classification policy refuses `model`, or None when it may be used (no policy, not
    in the catalog, or at or below the limit)."""
    if limit is None or entry is None or entry.classification <= limit:
        return None
    return (
        f"model {model!r} is classified {entry.classification.label} ({entry.classification.value}) in the AI "
        f"Gateway's catalog, above AI_GATEWAY_MAX_CLASSIFICATION={limit.label} ({limit.value})"
    )


def names(models: Iterable[CatalogModel]) -> frozenset[str]:
    return frozenset(m.model for m in models)
