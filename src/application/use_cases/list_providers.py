from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ideaforge_gateway.application.registry import ProviderRegistry
from ideaforge_gateway.domain.models import ProviderName


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """What a user may know about one provider: never a secret."""

    provider: ProviderName
    configured: bool
    source: Literal["user", "environment"] | None
    enabled: bool
    usable: bool
    base_url: str | None = None
    default_model: str | None = None
    instance_id: str | None = None
    env: str | None = None
    region: str | None = None
    route_template: str | None = None
    auth_method: str | None = None
    last_verified_at: datetime | None = None
    last_verification_ok: bool | None = None
    last_verification_error: str | None = None
    needs_reconfiguration: bool = False
    problem: str | None = None


class ListProviders:
    """The status of every provider for a user (or the environment), in priority order.

    - A user's stored credential is reported as `source="user"`, even when disabled or
      unreadable; otherwise the environment's, if it configures that provider.
    - An unreadable credential is `needs_reconfiguration` with the reason, never hidden.
    """

    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry

    def execute(self, user_id: str | None = None) -> list[ProviderStatus]:
        stored = self._registry.stored(user_id) if user_id is not None else {}
        config = self._registry.config
        order = list(config.order) + [p for p in ProviderName if p not in config.order]
        statuses = []
        for provider in order:
            usable = self._registry.resolve(provider, user_id) is not None
            mine = stored.get(provider)
            if mine is not None:
                creds = mine.credentials
                verification = mine.verification
                statuses.append(
                    ProviderStatus(
                        provider,
                        configured=True,
                        source="user",
                        enabled=mine.enabled,
                        usable=usable,
                        base_url=creds.base_url if creds else None,
                        default_model=creds.default_model if creds else None,
                        instance_id=creds.instance_id if creds else None,
                        env=creds.env if creds else None,
                        region=creds.region if creds else None,
                        route_template=creds.route_template if creds else None,
                        auth_method=creds.auth_method.value if creds and creds.auth_method else None,
                        last_verified_at=verification.at if verification else None,
                        last_verification_ok=verification.ok if verification else None,
                        last_verification_error=verification.error if verification else None,
                        needs_reconfiguration=mine.needs_reconfiguration,
                        problem=mine.unreadable_reason,
                    )
                )
                continue
            defaults = config.defaults(provider)
            configured = defaults.credentials is not None
            statuses.append(
                ProviderStatus(
                    provider,
                    configured=configured,
                    source="environment" if configured else None,
                    enabled=defaults.enabled,
                    usable=usable,
                    default_model=defaults.default_model if configured else None,
                )
            )
        return statuses
