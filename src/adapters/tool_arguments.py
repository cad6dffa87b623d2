"""What vendors whose formats carry tool-call arguments as JSON objects (Anthropic, Gemini) need."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ideaforge_gateway.adapters.http.errors import provider_label
from ideaforge_gateway.domain.errors import InvalidRequestError, UnsupportedParameterError
from ideaforge_gateway.domain.models import ProviderName, ToolCall


class UnmappableRequestError(ValueError):
    """The request cannot be said in a vendor's format; the message names no content or secret.
    `param` names the parameter at fault when one is."""

    param: str | None = None


@contextmanager
def refused_as_invalid(provider: ProviderName) -> Iterator[None]:
    """What a vendor's format cannot express, as the domain's `InvalidRequestError` naming it."""
    try:
        yield
    except UnmappableRequestError as exc:
        message = f"{provider_label(provider)} cannot take this request: {exc}"
        if exc.param is not None:
            # Another provider may take it: the chain skips this one, saying why (issue 13).
            raise UnsupportedParameterError(message, provider=provider, param=exc.param) from None
        raise InvalidRequestError(message, provider=provider) from None


def tool_arguments(call: ToolCall) -> dict[str, Any]:
    """The arguments the model wrote for `call`, as a JSON object (empty text is `{}`)."""
    if not call.arguments.strip():
        return {}
    try:
        value = json.loads(call.arguments)
    except ValueError:
        raise UnmappableRequestError(f"the arguments of tool call {call.id!r} are not JSON") from None
    if not isinstance(value, dict):
        raise UnmappableRequestError(f"the arguments of tool call {call.id!r} are not a JSON object")
    return value
