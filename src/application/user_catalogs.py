"""Which AI Gateway catalog answers for a set of credentials: the operator's, a user's own
instance's, or none.

- Credentials on the operator's gateway (no base URL or instance id of their own) read the
  operator's catalog (`operator`, asked with the environment's service account).
- Credentials with their own instance id read that instance's catalog, asked with THEIR
  `client_id:client_secret` and `X-Instance-Id`, at the catalog URL derived from THEIR
  environment and region: `template` (AI_GATEWAY_CATALOG_URL, or the default
  `https://api.{region.}{env}.ai-gateway.quantumblack.com/v1/catalog/models`) filled with them.
  A stored secret is only sent to a destination derived from what was stored with it
  (credential_rules.py): so an operator's catalog URL with no `{env}` or `{region.}` (one fixed
  catalog, not derived from the user's values) is not used for users, nor is any catalog for a
  user with a route template of their own (their hosts are theirs; no catalog URL derives from
  them). The operator's template itself is trusted as the route template is.
- Credentials with a base URL and no instance id have no catalog: the gateway never shows the
  operator's catalog as theirs.

Users' views are kept one per (catalog URL, instance id, credentials), in an LRU of at most
`cap` (default `USER_CATALOGS`): each holds a catalog of tens of KiB, so the memory is bounded
however many accounts an outsider stores; an evicted view is asked again on next use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from pydantic import SecretStr

from ideaforge_gateway.application.model_catalog import CatalogView
from ideaforge_gateway.domain.credentials import ProviderCredentials, StoredCredential
from ideaforge_gateway.domain.errors import ConfigurationError
from ideaforge_gateway.domain.models import Classification, ProviderName
from ideaforge_gateway.domain.policies.gateway_routes import (
    CATALOG_PLACEHOLDERS,
    DEFAULT_ENV,
    catalog_placeholders,
    catalog_url,
)
from ideaforge_gateway.domain.ports.model_catalog import ModelCatalog

USER_CATALOGS = 256
"""Users' catalogs kept at once (a few MiB at most)."""

MakeCatalog = Callable[[str, str, SecretStr, SecretStr], ModelCatalog]
"""(catalog URL, instance id, client id, client secret) -> a catalog client on users' transport."""


def on_operators_gateway(credentials: ProviderCredentials) -> bool:
    """Whether these AI Gateway credentials reach the operator's gateway and instance, whose catalog
    the operator's view reads (a user's own base URL or instance id is another's)."""
    return (
        credentials.provider is ProviderName.AI_GATEWAY and credentials.base_url is None and not credentials.instance_id
    )


class CatalogViews:
    def __init__(
        self,
        operator: CatalogView | None,
        make: MakeCatalog | None = None,
        *,
        template: str | None = None,
        max_classification: Classification | None = None,
        operator_problem: str | None = None,
        cap: int = USER_CATALOGS,
    ) -> None:
        self.operator = operator
        self._make = make
        self._template = template
        self._limit = max_classification
        self._operator_problem = operator_problem or "no AI Gateway catalog"
        self._cap = cap
        self._views: OrderedDict[tuple[str, str, str], CatalogView] = OrderedDict()
        self._lock = threading.Lock()

    def for_credentials(self, credentials: ProviderCredentials) -> CatalogView | None:
        """The view that answers for `credentials`, or None when none does."""
        if on_operators_gateway(credentials):
            return self.operator
        if credentials.provider is not ProviderName.AI_GATEWAY or self.problem(credentials) is not None:
            return None
        assert credentials.instance_id is not None and credentials.client_secret is not None  # problem checked
        assert self._make is not None and self._template is not None
        url = catalog_url(self._template, env=credentials.env or DEFAULT_ENV, region=credentials.region)
        key = (url, credentials.instance_id, credentials.fingerprint())
        with self._lock:
            view = self._views.get(key)
            if view is not None:
                self._views.move_to_end(key)
                return view
            client = self._make(url, credentials.instance_id, credentials.api_key, credentials.client_secret)
            view = CatalogView(client, instance_id=credentials.instance_id, max_classification=self._limit)
            self._views[key] = view
            while len(self._views) > self._cap:
                self._views.popitem(last=False)
            return view

    def __len__(self) -> int:
        return len(self._views)

    def problem(self, credentials: ProviderCredentials) -> str | None:
        """Why these (non-operator) AI Gateway credentials have no catalog, or None."""
        if not credentials.instance_id:
            return (
                "your AI Gateway credentials name a base URL, not an instance id: the catalog is per instance "
                "(configure ai_gateway with an instance id to see yours)"
            )
        if credentials.route_template:
            return "your AI Gateway credentials have a route template of their own: no catalog URL derives from it"
        if credentials.client_secret is None or self._make is None or self._template is None:
            return "the AI Gateway's catalog is not available for users' own instances here"
        if not catalog_placeholders(self._template) & set(CATALOG_PLACEHOLDERS):
            return (
                "AI_GATEWAY_CATALOG_URL names one catalog, not one derived from your instance's environment and "
                "region: the operator can write it with {env} and {region.}"
            )
        return None

    def for_listing(self, stored: StoredCredential | None) -> CatalogView:
        """The catalog a user with `stored` AI Gateway credentials (None: none stored, the
        environment's are used) sees, or `ConfigurationError` (409) saying why there is none."""
        if stored is None or (stored.credentials is not None and on_operators_gateway(stored.credentials)):
            if self.operator is None:
                raise ConfigurationError(self._operator_problem)
            return self.operator
        credentials = stored.credentials
        if credentials is None:
            raise ConfigurationError("your stored AI Gateway credentials cannot be read: configure ai_gateway again")
        view = self.for_credentials(credentials)
        if view is None:
            raise ConfigurationError(self.problem(credentials) or "no AI Gateway catalog for your credentials")
        return view
