"""Which vendor's family a model id belongs to: the one table the AI Gateway's routing and the
fallback chain's `serves_model` both read.

An id may carry Gemini's resource prefix (`models/gemini-2.5-pro`, `tunedModels/...`) or a
vendor prefix as some gateways write it (`google/gemini-2.5-pro`, `anthropic/claude-...`): the
family is read from the last path segment, case-insensitively. Ids of no listed family are
OpenAI-style (`gpt-*`, `o3`, and anything unknown): they go the OpenAI-compatible way.

Azure OpenAI deployments are named with the prefix `azure/` (`azure/gpt-4o` is the deployment
`gpt-4o`): an explicit choice in the id, because a deployment's name need not say which model
it runs, and the same `gpt-4o` may be offered both ways. Only the AI Gateway serves them.
"""

from __future__ import annotations

from ideaforge_gateway.domain.models import ProviderName

FAMILIES: tuple[tuple[ProviderName, tuple[str, ...]], ...] = (
    (ProviderName.ANTHROPIC, ("claude",)),
    (ProviderName.GEMINI, ("gemini", "gemma")),
)
"""Vendor, and the prefixes of its model ids."""


AZURE_PREFIX = "azure/"


def azure_deployment(model: str) -> str | None:
    """The Azure OpenAI deployment `model` names (`azure/gpt-4o` -> `gpt-4o`), or None."""
    if model[: len(AZURE_PREFIX)].lower() == AZURE_PREFIX and len(model) > len(AZURE_PREFIX):
        return model[len(AZURE_PREFIX) :]
    return None


def family_of(model: str) -> ProviderName | None:
    """The vendor whose family `model` belongs to (Anthropic, Gemini), or None for OpenAI-style ids."""
    name = model.rsplit("/", 1)[-1].lower()
    for vendor, prefixes in FAMILIES:
        if name.startswith(prefixes):
            return vendor
    return None


def serves_model(provider: ProviderName, model: str) -> bool:
    """Whether `provider` can plausibly serve a model named explicitly (the AI Gateway serves all).

    Used to skip, for example, OpenAI when a request names `claude-sonnet-4-5`.
    """
    if provider is ProviderName.AI_GATEWAY:
        return True
    if azure_deployment(model) is not None:
        return False
    family = family_of(model)
    return family is None if provider is ProviderName.OPENAI else family is provider
