"""The request being served, for log lines and spans that the request's own code does not write.

The HTTP middleware sets it for each request (`begin`); the route's authentication names the
user, the telemetry adapters name the provider and attempts. Outside a request (the CLI) it is
None, and nothing is recorded.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


@dataclass(slots=True)
class RequestContext:
    request_id: str
    user_id: str | None = None
    provider: str | None = None
    attempts: int = 0


_current: ContextVar[RequestContext | None] = ContextVar("ideaforge_request", default=None)


def current() -> RequestContext | None:
    return _current.get()


def begin(offered_id: str | None) -> RequestContext:
    """A context for a new request: the client's `X-Request-Id` when it is well formed (1-128
    letters, digits and `._:-`, so it can go into a log line as it is), else a fresh one."""
    request_id = offered_id if offered_id and _WELL_FORMED.fullmatch(offered_id) else secrets.token_hex(16)
    context = RequestContext(request_id)
    _current.set(context)
    return context


def set_user(user_id: str) -> None:
    context = _current.get()
    if context is not None:
        context.user_id = user_id
