from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import SecretStr

from ideaforge_gateway.domain.credentials import User


@runtime_checkable
class UserStore(Protocol):
    """The gateway's users and their API tokens.

    - A token is shown once, by `create`, and stored only as a hash.
    - `authenticate` returns the active user holding the token, or None; a revoked user's token
      no longer authenticates.
    - Names are unique; `create` raises `InvalidRequestError` for a taken or malformed name.
    """

    def create(self, name: str) -> tuple[User, SecretStr]: ...

    def authenticate(self, token: SecretStr) -> User | None: ...

    def get(self, user_id: str) -> User | None:
        """The user with this id, revoked or not, or None."""
        ...

    def get_by_name(self, name: str) -> User | None: ...

    def list(self) -> Sequence[User]: ...

    def revoke(self, name: str) -> bool: ...
