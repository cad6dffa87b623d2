"""Model availability before use (the seed's "Model Availability"), against the AI Gateway
instance's catalog or, without one, the gateway's model list.

- `CatalogGate` is the fallback chain's check before each AI Gateway attempt: a model the
  catalog does not list is `ModelNotOfferedError`, one above AI_GATEWAY_MAX_CLASSIFICATION is
  `PolicyRefusedError`; the chain records either as the attempt and asks the next provider
  without calling this one. It reads the cached catalog only (`CatalogView.cached`): no catalog
  yet, or a catalog that does not answer, lets every request through, so the chat path never
  waits on the catalog nor fails because of it.
- The gate reads the catalog that answers for the step's credentials (`user_catalogs.py`): the
  operator's for credentials on the operator's gateway, a user's own instance's (asked with their
  credentials) for theirs; a user's own base URL without an instance id is not checked.
- `availability_warnings` names, for the tier models and default models a provider would use,
  each one the instance does not offer, with the setting to change: run when credentials are
  verified and when `serve` starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from ideaforge_gateway.application.fallback_chain import Step
from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.application.registry import ProviderRegistry, ResolvedProvider
from ideaforge_gateway.application.user_catalogs import CatalogViews, on_operators_gateway
from ideaforge_gateway.domain.catalog import policy_refusal
from ideaforge_gateway.domain.errors import GatewayError, ModelNotOfferedError, PolicyRefusedError
from ideaforge_gateway.domain.models import ProviderName, Tier
from ideaforge_gateway.domain.ports.user_store import UserStore

_GATEWAY = ProviderName.AI_GATEWAY


class CatalogGate:
    """The chain's check of a step against the catalog; None lets the step be tried."""

    def __init__(self, views: CatalogViews | CatalogView | None) -> None:
        self._views = CatalogViews(views) if isinstance(views, CatalogView) or views is None else views

    def __call__(self, step: Step) -> GatewayError | None:
        view = self._views.for_credentials(step.resolved.credentials)
        if view is None:
            return None
        catalog = view.cached()
        if catalog is None:
            return None
        model = step.request.model
        entry = catalog.find(model)
        if entry is None:
            return ModelNotOfferedError(
                f"the AI Gateway instance {view.instance_id!r} does not offer model {model!r}: its catalog does "
                "not list it (`ideaforge models --catalog` lists what it offers)",
                provider=_GATEWAY,
            )
        refusal = policy_refusal(model, entry, view.max_classification)
        if refusal is not None:
            return PolicyRefusedError(f"{refusal}: not sent to the AI Gateway", provider=_GATEWAY)
        return None


@dataclass(frozen=True, slots=True)
class WantedModel:
    """A model a provider would be asked for, and the setting that chose it."""

    model: str
    setting: str


_TIER_SETTINGS = {Tier.FAST: "AI_GATEWAY_FAST_MODEL", Tier.STANDARD: "AI_GATEWAY_STANDARD_MODEL",
                  Tier.PREMIUM: "AI_GATEWAY_PREMIUM_MODEL"}  # fmt: skip


def wanted_models(resolved: ResolvedProvider) -> list[WantedModel]:
    """The AI Gateway models `resolved` would be asked for: each tier's, the default, and the
    user's own default model when set (other providers: none, their aliases are not listed)."""
    if resolved.provider is not _GATEWAY:
        return []
    wanted = [WantedModel(resolved.tier_models.for_tier(tier), setting) for tier, setting in _TIER_SETTINGS.items()]
    if resolved.default_model:
        wanted.append(WantedModel(resolved.default_model, "AI_GATEWAY_DEFAULT_MODEL"))
    if resolved.user_default_model:
        wanted.append(
            WantedModel(
                resolved.user_default_model,
                "the user's default model (`ideaforge providers configure ai_gateway --default-model M`, "
                "or the Settings page)",
            )
        )
    return wanted


def availability_warnings(wanted: list[WantedModel], offered: Collection[str], where: str) -> list[str]:
    """One line per wanted model that `offered` lacks, naming the setting to change; `where`
    says what was asked ("the catalog of AI Gateway instance 'x'", "the AI Gateway's model list")."""
    return [
        f"model {w.model!r} is not offered by {where}: change {w.setting} to one it offers"
        for w in wanted
        if w.model not in offered
    ]


async def gateway_model_warnings(
    resolved: ResolvedProvider, listed: Collection[str], view: CatalogView | None
) -> list[str]:
    """`availability_warnings` for the AI Gateway models `resolved` would use: against the
    catalog (within the classification policy) when the credentials are on the operator's
    gateway and the catalog answers, else against `listed` (the gateway's model list)."""
    wanted = wanted_models(resolved)
    if not wanted:
        return []
    catalog = await view.current() if view is not None and on_operators_gateway(resolved.credentials) else None
    if catalog is None or view is None:
        return availability_warnings(wanted, frozenset(listed), "the AI Gateway's model list")
    limit = view.max_classification
    where = f"the catalog of AI Gateway instance {view.instance_id!r}"
    if limit is not None:
        where += f" within AI_GATEWAY_MAX_CLASSIFICATION={limit.label}"
    return availability_warnings(wanted, {m.model for m in catalog.within(limit).models}, where)


async def startup_warnings(
    registry: ProviderRegistry, view: CatalogView | None, users: UserStore | None, *, deadline: float
) -> list[str]:
    """What `serve` warns about once it is ready: the environment's AI Gateway models (against the
    catalog, else the model list), then each active user's own AI Gateway default model on the
    operator's gateway (against the catalog only: no request is made with a user's credentials).
    A gateway that cannot be asked is one warning saying so, never a failure."""
    warnings: list[str] = []
    resolved = registry.resolve(_GATEWAY, None)
    if resolved is not None:
        try:
            async with asyncio.timeout(deadline):
                listed = {m.id for m in await registry.client(resolved).list_models()}
                warnings += await gateway_model_warnings(resolved, listed, view)
        except (GatewayError, TimeoutError) as exc:
            reason = exc.message if isinstance(exc, GatewayError) else f"no answer within {deadline:g} s"
            warnings.append(f"the AI Gateway's models could not be checked ({reason})")
    catalog = await view.current() if view is not None and users is not None else None
    if catalog is None or view is None or users is None:
        return warnings
    offered = {m.model for m in catalog.within(view.max_classification).models}
    for user in await asyncio.to_thread(users.list):
        if not user.active:
            continue
        stored = (await asyncio.to_thread(registry.stored, user.id)).get(_GATEWAY)
        credentials = stored.credentials if stored is not None and stored.enabled else None
        if credentials is None or not on_operators_gateway(credentials) or not credentials.default_model:
            continue
        if credentials.default_model not in offered:
            warnings.append(
                f"user {user.name!r}'s default model {credentials.default_model!r} is not offered by the catalog "
                f"of AI Gateway instance {view.instance_id!r}: change it with `ideaforge providers configure "
                f"ai_gateway --user {user.name} --default-model M` or on the Settings page"
            )
    return warnings
