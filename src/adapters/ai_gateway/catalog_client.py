"""The AI Gateway's model catalog over HTTP: `GET {catalog_url}?provider=P`, with the service
account's `client_id:client_secret` as the bearer and the instance in `X-Instance-Id`.

The answer, as public code that calls the gateway shows it: a JSON array of providers, each
`{"name", "classification": 0-3, "endpoints": [{"slug", "models": [{"name", "cost":
{"input_unit_cost", "output_unit_cost"}}]}]}`, costs in US dollars per million tokens. It is
parsed with Pydantic (unknown fields ignored, a missing or mistyped one is a malformed answer)
and read through the one transport, bounded at `CATALOG_BYTES` like other discovery answers.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError
from yarl import URL

from ideaforge_gateway.adapters.http.errors import error_for_status, malformed
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.catalog import Catalog, CatalogModel
from ideaforge_gateway.domain.models import Classification, ModelPrice, ProviderName
from ideaforge_gateway.domain.ports.model_catalog import ModelCatalog

CATALOG_BYTES = 1 << 20
"""A catalog of a few hundred models is tens of KiB; a megabyte is a generous bound."""
_WHAT = "model catalog"
_PROVIDER = ProviderName.AI_GATEWAY


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Cost(_Body):
    input_unit_cost: Decimal = Field(ge=0, allow_inf_nan=False)
    """US dollars per million prompt tokens."""
    output_unit_cost: Decimal = Field(ge=0, allow_inf_nan=False)
    """US dollars per million completion tokens."""


class _Model(_Body):
    name: str = Field(min_length=1, max_length=256)
    cost: _Cost | None = None


class _Endpoint(_Body):
    slug: str = ""
    models: list[_Model] = []


class _Provider(_Body):
    name: str = Field(min_length=1, max_length=128)
    classification: int = Field(ge=0, le=3)
    endpoints: list[_Endpoint] = []


_ANSWER = TypeAdapter(list[_Provider])


def parse_catalog(body: bytes) -> Catalog:
    """The catalog in an answer's body; a `ProviderUnavailableError` (malformed) if it is not one."""
    try:
        providers = _ANSWER.validate_json(body)
    except ValidationError:
        raise malformed(_PROVIDER, what=_WHAT) from None
    return Catalog(
        tuple(
            CatalogModel(
                family=provider.name,
                endpoint=endpoint.slug,
                model=model.name,
                classification=Classification(provider.classification),
                price=ModelPrice(model.cost.input_unit_cost, model.cost.output_unit_cost) if model.cost else None,
            )
            for provider in providers
            for endpoint in provider.endpoints
            for model in endpoint.models
        )
    )


class AIGatewayCatalogClient(ModelCatalog):
    """`ModelCatalog` over the transport, for one instance and one service account."""

    def __init__(
        self,
        transport: HttpTransport,
        *,
        url: str,
        instance_id: str,
        client_id: SecretStr,
        client_secret: SecretStr,
        max_bytes: int = CATALOG_BYTES,
    ) -> None:
        self._transport = transport
        self._url = URL(url)
        self._instance_id = instance_id
        key = SecretStr(f"{client_id.get_secret_value()}:{client_secret.get_secret_value()}")
        self._auth = HeaderAuth("Authorization", "Bearer ", key)
        self._max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"AIGatewayCatalogClient(url={str(self._url)!r}, instance_id={self._instance_id!r})"

    async def fetch(self, provider: str | None = None) -> Catalog:
        reply = await self._transport.send(
            "GET",
            self._url,
            provider=_PROVIDER,
            what=_WHAT,
            auth=self._auth,
            headers={"X-Instance-Id": self._instance_id},
            params={"provider": provider} if provider else None,
            max_bytes=self._max_bytes,
        )
        if reply.status != 200:
            raise error_for_status(_PROVIDER, reply.status, reply.headers, what=_WHAT)
        return parse_catalog(reply.body)
