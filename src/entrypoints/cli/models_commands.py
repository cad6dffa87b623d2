"""`ideaforge models [--catalog]`: the models each usable provider offers, with the AI Gateway
catalog's prices and classification where it lists them, or the catalog itself."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer

from ideaforge_gateway.entrypoints.cli.commands import fail, print_json, resolve_user, run

if TYPE_CHECKING:
    from ideaforge_gateway.application.model_catalog import CatalogView
    from ideaforge_gateway.domain.catalog import Catalog, CatalogModel
    from ideaforge_gateway.domain.models import ModelInfo
    from ideaforge_gateway.entrypoints.container import Container

PRICE_UNIT = "USD per million tokens"


def models(provider: str | None, *, user: str | None, as_json: bool) -> None:
    from ideaforge_gateway.application.use_cases.list_models import ListModelsRequest
    from ideaforge_gateway.domain.models import ProviderName

    async def work(container: Container) -> tuple[list[ModelInfo], str | None]:
        """The models, and why there are none when no provider is usable at all."""
        user_id = resolve_user(container, user)
        request = ListModelsRequest(provider=ProviderName(provider) if provider else None, user_id=user_id)
        found = await container.list_models().execute(request)
        registry = container.registry()
        if found or provider is not None:
            return found, None
        usable = [r.provider.value for r in registry.usable(user_id)]
        if usable:
            names = ", ".join(usable)
            return found, f"no models: {names} listed none or failed; `ideaforge providers verify NAME` says why"
        idle = registry.idle_environment_providers()
        if idle:
            return found, "no provider is usable: " + "; ".join(idle)
        return found, (
            "no provider is configured: set a vendor API key (OPENAI_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY) "
            "or the AI Gateway (AI_GATEWAY_CLIENT_ID, AI_GATEWAY_CLIENT_SECRET, AI_GATEWAY_ENABLED=true), "
            "or configure one for a user and pass --user"
        )

    found, nothing = run(work)
    if as_json:
        print_json([model_json(m) for m in found])
    if nothing:
        fail(nothing)
    if as_json:
        return
    for info in found:
        known = info.price is not None or info.classification is not None
        label = info.classification.label if info.classification is not None else "-"  # Green is 0: not falsy here
        extra = f"\t{_price_text(info)}\t{label}" if known else ""
        typer.echo(f"{info.provider.value}\t{info.id}{extra}")


def model_json(info: ModelInfo) -> dict[str, object]:
    """A model for scripts; `price` (US dollars per million tokens) and `classification` when the
    AI Gateway's catalog lists it, else null."""
    price = info.price
    return {
        "id": info.id,
        "provider": info.provider.value,
        "owned_by": info.owned_by,
        "price": None if price is None else {"input": float(price.input), "output": float(price.output),
                                             "unit": PRICE_UNIT},
        "classification": info.classification.label if info.classification is not None else None,
    }  # fmt: skip


def _price_text(info: ModelInfo) -> str:
    price = info.price
    return "-" if price is None else f"${_money(price.input)} in / ${_money(price.output)} out per million tokens"


def catalog_models(provider: str | None, *, user: str | None, as_json: bool) -> None:
    """The table (family, model, price in and out per million tokens, classification) or, with
    `as_json`, one JSON array; a catalog that does not answer is one line and exit 1. With `user`,
    that user's own instance's catalog when their AI Gateway credentials name one, else the
    operator's; own credentials without an instance id are one line and exit 1."""

    async def work(container: Container) -> tuple[Catalog, CatalogView]:
        from ideaforge_gateway.domain.models import ProviderName

        user_id = resolve_user(container, user)
        stored = container.registry().stored(user_id).get(ProviderName.AI_GATEWAY) if user_id else None
        view = container.catalog_views().for_listing(stored)
        return await view.listing(provider), view

    catalog, view = run(work)
    if as_json:
        print_json([catalog_entry_json(m) for m in catalog.models])
        return
    limit = view.max_classification
    if limit is not None:
        typer.echo(
            f"note: models classified above {limit.label} are not listed (AI_GATEWAY_MAX_CLASSIFICATION)", err=True
        )
    if not catalog.models:
        fail(
            f"the catalog of AI Gateway instance {view.instance_id!r} lists no models"
            + (f" for {provider!r}" if provider else "")
        )
    rows = [("FAMILY", "MODEL", "IN $/M", "OUT $/M", "CLASSIFICATION")]
    rows += [(m.family, m.model, *_prices(m), m.classification.label) for m in catalog.models]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            row[2].rjust(widths[2]),
            row[3].rjust(widths[3]),
            row[4],
        ]
        typer.echo("  ".join(cells).rstrip())


def catalog_entry_json(model: CatalogModel) -> dict[str, object]:
    """One catalog model for scripts: prices as numbers in `PRICE_UNIT`, the classification by
    name and by level."""
    price = model.price
    return {
        "family": model.family,
        "endpoint": model.endpoint,
        "model": model.model,
        "classification": model.classification.label,
        "classification_level": model.classification.value,
        "price": None
        if price is None
        else {"input": float(price.input), "output": float(price.output), "unit": PRICE_UNIT},
    }


def _prices(model: CatalogModel) -> tuple[str, str]:
    if model.price is None:
        return "-", "-"
    return _money(model.price.input), _money(model.price.output)


def _money(value: Decimal) -> str:
    """Cents at least (`2.50`), more digits only when the price has them (`0.075`)."""
    cents = value.quantize(Decimal("0.01"))
    return f"{cents}" if cents == value else f"{value.normalize():f}"
