"""`ideaforge models --catalog`: the AI Gateway instance's catalog, with prices and classification."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer

from ideaforge_gateway.entrypoints.cli.commands import fail, print_json, run

if TYPE_CHECKING:
    from ideaforge_gateway.application.model_catalog import CatalogView
    from ideaforge_gateway.domain.catalog import Catalog, CatalogModel
    from ideaforge_gateway.entrypoints.container import Container

PRICE_UNIT = "USD per million tokens"


def catalog_models(provider: str | None, *, user: str | None, as_json: bool) -> None:
    """The table (family, model, price in and out per million tokens, classification) or, with
    `as_json`, one JSON array; a catalog that does not answer is one line and exit 1."""
    if user is not None:
        fail("--catalog lists the operator's instance (AI_GATEWAY_INSTANCE_ID): leave out --user", code=2)

    async def work(container: Container) -> tuple[Catalog, CatalogView]:
        from ideaforge_gateway.domain.errors import ConfigurationError
        from ideaforge_gateway.entrypoints.container import catalog_problem

        view = container.catalog_view()
        if view is None:
            raise ConfigurationError(catalog_problem(container.settings()) or "no AI Gateway catalog")
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
