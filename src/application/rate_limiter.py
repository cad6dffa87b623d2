"""How often something may happen per key (a client address, a user, a token prefix), in-process.

Kept here rather than taken from a library: it is a sliding log of a few dozen timestamps per
key, with an injected clock for tests, and the product needs no more. Limits hold per process;
with several workers each enforces its own (a client spread over N workers gets up to N times
the limit, still bounded).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class WindowLimiter:
    """At most `limit` events per key in any `window` seconds.

    - `retry_after(*keys)`: None if every key may have another event now, else the seconds until
      the most limited one may (always > 0).
    - `record(*keys)`: count one event against each key.
    - `hit(*keys)`: `retry_after`, and when allowed, `record`: one call for "may I, and I did".
    - At most `max_keys` keys are remembered (least recently used forgotten first), so a flood of
      distinct keys costs bounded memory.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, *keys: str) -> float | None:
        with self._lock:
            return self._retry_after(keys, self._clock())

    def record(self, *keys: str) -> None:
        with self._lock:
            self._record(keys, self._clock())

    def hit(self, *keys: str) -> float | None:
        with self._lock:
            now = self._clock()
            wait = self._retry_after(keys, now)
            if wait is None:
                self._record(keys, now)
            return wait

    def _retry_after(self, keys: tuple[str, ...], now: float) -> float | None:
        waits = []
        for key in keys:
            events = self._events.get(key)
            if events is None:
                continue
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                waits.append(events[0] + self.window - now)
        return max(max(waits), 0.001) if waits else None

    def _record(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = deque(maxlen=self.limit)
            events.append(now)
            self._events.move_to_end(key)
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)
