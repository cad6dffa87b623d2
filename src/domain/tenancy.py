"""Who a call to a provider is made for: the user whose request it serves.

The transport bounds how many requests one user may have in flight (issue 18, case 3), so it
must know whose a request is, even through a client shared by every user (the environment's
credentials). The application says so once, around each provider call, with `acting_for`;
the value then follows the call into every task and stream it starts (a `ContextVar`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_acting_user: ContextVar[str | None] = ContextVar("ideaforge_acting_user", default=None)


def acting_user() -> str | None:
    """The user the current provider call is made for; None for the environment's own use."""
    return _acting_user.get()


@contextmanager
def acting_for(user_id: str | None) -> Iterator[None]:
    """Calls made inside the block are made for `user_id`."""
    token = _acting_user.set(user_id)
    try:
        yield
    finally:
        _acting_user.reset(token)
