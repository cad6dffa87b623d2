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
    """

    def __init__(
        self,
        users: UserStore,
        *,
        ttl: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
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
        user = self._users.authenticate(token)
        with self._lock:
            self._cache[key] = (now + self._ttl, user)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return user
