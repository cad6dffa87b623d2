"""How many requests may be in flight at once, per user and per host (issue 18, case 3).

Without bounds, one user holding hundreds of streams to their own base URL took every
connection of the pool that all users' URLs share, and another user's healthy upstream timed
out waiting for one. So the transport takes a slot before each request and gives it back when
the answer is released (a stream: when it ends):

- **Per user** (`IDEAFORGE_USER_MAX_CONCURRENT_REQUESTS`): requests made for one user
  (`domain.tenancy.acting_user`), on every transport, so a user cannot starve the operator's
  upstreams either. Past it, a `RateLimitedError` (HTTP 429: that user should slow down).
- **Per host** (`IDEAFORGE_MAX_CONNECTIONS_PER_HOST`), on the transport for users' URLs: the
  requests to one host, whoever makes them. Past it, a `ProviderUnavailableError` (503-like;
  the next provider is asked).

A request made while another holds its slot for it (the OAuth2 token fetched before a chat
request is sent, inside `bounds_exempt`) takes no slot of its own: with a bound of 1 a user's
AI Gateway request would otherwise be refused by its own token fetch.

A request past a bound is refused at once rather than queued: a queue would hold the caller
until its deadline, which is what starving looked like. Counting (not `asyncio.Semaphore`)
keeps the bounds one per process, whatever event loop or thread a request runs on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ideaforge_gateway.adapters.http.errors import provider_label
from ideaforge_gateway.domain.errors import GatewayError, ProviderUnavailableError, RateLimitedError
from ideaforge_gateway.domain.models import ProviderName

DEFAULT_USER_MAX_CONCURRENT_REQUESTS = 64
DEFAULT_MAX_CONNECTIONS_PER_HOST = 100
RETRY_AFTER_SECONDS = 1.0
"""What a refused user is told to wait: a slot frees as soon as one of their requests ends."""

_exempt: ContextVar[bool] = ContextVar("ideaforge_bounds_exempt", default=False)


@contextmanager
def bounds_exempt() -> Iterator[None]:
    """Requests made inside the block (and in tasks it starts) take no slot."""
    token = _exempt.set(True)
    try:
        yield
    finally:
        _exempt.reset(token)


class ConcurrencyBounds:
    """Requests in flight, counted per user and per host; `None` leaves that bound off."""

    def __init__(self, *, per_user: int | None = None, per_host: int | None = None) -> None:
        self.per_user = per_user
        self.per_host = per_host
        self._lock = threading.Lock()
        self._users: dict[str, int] = {}
        self._hosts: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(per_user={self.per_user}, per_host={self.per_host})"

    def in_flight(self, *, user: str | None = None, host: str | None = None) -> int:
        """Requests in flight now for `user`, or to `host`: for tests and diagnostics."""
        with self._lock:
            return self._users.get(user or "", 0) if user is not None else self._hosts.get(host or "", 0)

    @contextmanager
    def slot(self, user: str | None, host: str, provider: ProviderName, what: str) -> Iterator[None]:
        """Hold one slot for `user` and `host` for the block; raise if either bound is reached."""
        if _exempt.get():
            yield
            return
        count_user = user is not None and self.per_user is not None
        count_host = self.per_host is not None
        with self._lock:
            refusal = self._refusal(user, host, provider, what)
            if refusal is not None:
                raise refusal
            if count_user:
                self._users[user or ""] = self._users.get(user or "", 0) + 1
            if count_host:
                self._hosts[host] = self._hosts.get(host, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                if count_user:
                    _decrement(self._users, user or "")
                if count_host:
                    _decrement(self._hosts, host)

    def _refusal(self, user: str | None, host: str, provider: ProviderName, what: str) -> GatewayError | None:
        """Caller holds the lock. The error, if a bound is reached. Either is this process's own
        bound, not evidence that the provider is unhealthy: it opens no circuit breaker."""
        error: GatewayError | None = None
        label = provider_label(provider)
        if user is not None and self.per_user is not None and self._users.get(user, 0) >= self.per_user:
            error = RateLimitedError(
                f"{label} {what} refused: this user already has {self.per_user} requests in flight "
                "(IDEAFORGE_USER_MAX_CONCURRENT_REQUESTS sets the bound)",
                provider=provider,
                retry_after=RETRY_AFTER_SECONDS,
            )
        elif self.per_host is not None and self._hosts.get(host, 0) >= self.per_host:
            error = ProviderUnavailableError(
                f"{label} {what} refused: {self.per_host} requests to {host} are already in flight "
                "(IDEAFORGE_MAX_CONNECTIONS_PER_HOST sets the bound)",
                provider=provider,
                looks_down=True,  # busy for everyone: the next provider is the better try
            )
        if error is not None:
            error.counts_against_provider = False
        return error


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)  # an idle key takes no memory
