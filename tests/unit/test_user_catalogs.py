"""Which catalog answers for which credentials (`application/user_catalogs.py`): the operator's,
a user's own instance's at the URL derived from their environment and region, or none; and the
bound on users' views. A hand-written catalog client records what it was made with; no I/O."""

from __future__ import annotations

from pydantic import SecretStr

from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.application.user_catalogs import CatalogViews
from ideaforge_gateway.domain.catalog import Catalog
from ideaforge_gateway.domain.credentials import ProviderCredentials
from ideaforge_gateway.domain.models import Classification, ProviderName
from ideaforge_gateway.domain.policies.gateway_routes import DEFAULT_CATALOG_TEMPLATE

GATEWAY = ProviderName.AI_GATEWAY


class Recorded:
    def __init__(self, url: str, instance_id: str, client_id: SecretStr, secret: SecretStr) -> None:
        self.made = (url, instance_id, client_id.get_secret_value(), secret.get_secret_value())

    async def fetch(self, provider: str | None = None) -> Catalog:
        return Catalog()


def views(template: str = DEFAULT_CATALOG_TEMPLATE, cap: int = 8) -> tuple[CatalogViews, CatalogView]:
    operator = CatalogView(Recorded("op", "op-inst", SecretStr("o"), SecretStr("s")), instance_id="op-inst")
    return CatalogViews(
        operator, Recorded, template=template, max_classification=Classification.YELLOW, cap=cap
    ), operator


def creds(**fields: object) -> ProviderCredentials:
    values: dict[str, object] = {"api_key": SecretStr("id"), "client_secret": SecretStr("secret"), **fields}
    return ProviderCredentials(provider=GATEWAY, **values)  # type: ignore[arg-type]


def test_a_users_instance_is_asked_with_their_credentials_at_their_envs_catalog() -> None:
    chosen, operator = views()
    assert chosen.for_credentials(creds()) is operator  # on the operator's gateway
    view = chosen.for_credentials(creds(instance_id="mine", env="dev", region="eu"))
    assert view is not None and view is not operator
    assert view.instance_id == "mine" and view.max_classification is Classification.YELLOW
    assert view._catalog.made == (  # type: ignore[attr-defined]
        "https://api.eu.dev.ai-gateway.quantumblack.com/v1/catalog/models",
        "mine",
        "id",
        "secret",
    )
    assert chosen.for_credentials(creds(instance_id="mine", env="dev", region="eu")) is view  # one view, cached
    other_account = chosen.for_credentials(creds(instance_id="mine", env="dev", region="eu", api_key=SecretStr("x")))
    assert other_account is not view


def test_no_catalog_is_a_users_without_an_instance_or_with_a_template_of_their_own() -> None:
    chosen, _ = views()
    for fields in ({"base_url": "https://gw.example"}, {"instance_id": "mine", "route_template": "https://{family}.x"}):
        assert chosen.for_credentials(creds(**fields)) is None
        assert chosen.problem(creds(**fields))
    assert "not an instance id" in (chosen.problem(creds(base_url="https://gw.example")) or "")
    assert chosen.for_credentials(ProviderCredentials(provider=ProviderName.OPENAI, api_key=SecretStr("k"))) is None


def test_an_operators_fixed_catalog_url_is_not_used_for_a_users_secret() -> None:
    chosen, _ = views(template="https://catalog.corp.example/v1/catalog/models")
    mine = creds(instance_id="mine")
    assert chosen.for_credentials(mine) is None
    assert "{env}" in (chosen.problem(mine) or "")
    templated, _ = views(template="https://catalog.{env}.corp.example/v1/catalog/models")
    view = templated.for_credentials(mine)
    assert view is not None and view._catalog.made[0] == "https://catalog.prod.corp.example/v1/catalog/models"  # type: ignore[attr-defined]


def test_users_views_are_bounded_least_recently_used_first_out() -> None:
    chosen, _ = views(cap=3)
    first = chosen.for_credentials(creds(instance_id="i0"))
    for n in range(1, 3):
        chosen.for_credentials(creds(instance_id=f"i{n}"))
    assert chosen.for_credentials(creds(instance_id="i0")) is first  # used again: now the newest
    for n in range(3, 10):
        chosen.for_credentials(creds(instance_id=f"i{n}"))
    assert len(chosen) == 3
    assert chosen.for_credentials(creds(instance_id="i0")) is not first  # evicted, made anew
