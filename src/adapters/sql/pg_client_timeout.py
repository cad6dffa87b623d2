"""A client-side bound on every wait for PostgreSQL, which `statement_timeout` cannot give.

`statement_timeout` is enforced by the server: a server that is frozen (a stopped VM, SIGSTOP,
a hung storage volume) never enforces it, and its kernel keeps acknowledging our bytes, so TCP
timeouts never fire either; a query or pool pre-ping then waits for the whole stall. psycopg
(>= 3.3) bounds one wait with `Connection.wait(..., timeout=)`; this connection class passes the
engine's timeout to every wait, and closes the connection when it passes (its state is then
unknown), so the pool discards it and the caller gets an `OperationalError` at once.
"""

from __future__ import annotations

from typing import Any, TypeVar

import psycopg

RV = TypeVar("RV")


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait for the server lasts at most `client_timeout` s."""

    client_timeout: float = 5.0

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(gen, interval=interval, timeout=self.client_timeout if timeout is None else timeout)
        except psycopg.OperationalError as error:
            # psycopg's wait timeout (a private subclass): the server did not answer in time.
            if type(error).__name__ == "_WaitTimeout":
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"no answer from the database within {self.client_timeout:g} s"
                ) from None
            raise


def bounded_connection_class(timeout: float) -> type[BoundedConnection]:
    """A `BoundedConnection` subclass for one engine's `timeout` (seconds)."""
    return type("BoundedConnection", (BoundedConnection,), {"client_timeout": timeout})
