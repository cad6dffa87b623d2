"""Who is calling: a user's API token to the user, with a short cache for the request path."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from pydantic import SecretStr

from ideaforge_gateway.domain.credentials import User
from ideaforge_gateway.domain.ports.user_store import UserStore


class Authenticator:
    """Authenticate API tokens against the user store.

    - An answer (a user, or "no such token") is reused for `ttl` seconds, so a revocation takes
      effect within `ttl` in every process, and a busy client costs one store lookup a second.
    - The cache is keyed by a hash of the token and holds at most `max_entries`.
    - While the store fails with one of `outage_errors` (the database is unreachable), a token
      that authenticated a user less than `grace` seconds before keeps authenticating them; a
      token never seen, or seen longer ago, gets the store's error. So a revoked token works at
      most `grace` seconds longer, and only while the database cannot be read.
    """

    def __init__(
        self,
        users: UserStore,
        *,
        ttl: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        grace: float = 0.0,
        outage_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._users = users
        self._grace = grace
        self._outage_errors = outage_errors
        self._confirmed: dict[str, tuple[float, User]] = {}
        """Token hash -> (when the store last confirmed it, its user): the outage grace."""
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, User | None]] = OrderedDict()

    def cached(self, token: SecretStr) -> tuple[bool, User | None]:
        """`(True, answer)` when a fresh answer for `token` is cached, else `(False, None)`:
        no store access, so callers on an event loop may use it directly."""
        key = hashlib.sha256(token.get_secret_value().encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > self._clock():
            return True, hit[1]
        return False, None

    def authenticate(self, token: SecretStr) -> User | None:
        key = hashlib.sha256(token.get_secret_value().encode()).hexdigest()
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        try:
            user = self._users.authenticate(token)
        except self._outage_errors:
            with self._lock:
                confirmed = self._confirmed.get(key)
            if confirmed is not None and now - confirmed[0] < self._grace:
                return confirmed[1]
            raise
        with self._lock:
            self._cache[key] = (now + self._ttl, user)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
            if user is None:
                self._confirmed.pop(key, None)
            elif self._grace > 0:
                self._confirmed[key] = (now, user)
                while len(self._confirmed) > self._max:
                    self._confirmed.pop(next(iter(self._confirmed)))
        return user
