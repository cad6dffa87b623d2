"""IdeaForge provider gateway: the AI Gateway first, OpenAI, Gemini and Claude behind it.

The installed package's one import root. The repository keeps the design card's folders
(`src/domain`, `src/application`, `src/adapters`, `src/entrypoints`); the wheel installs them
under `ideaforge_gateway/`, so a host application with packages of the same names imports both.

The seed's names, for a host application (README, "Python API"):

- `provider_registry`: `has_ai_gateway()`, `get_ai_gateway_client()`, `for_user(...)`;
- `AIGatewayClient`: `list_models()`, `verify()`, `chat()`, `stream()`;
- `AIGatewayModel`: the Agno model (`Agent(model=AIGatewayModel(id="gpt-4o"))`);
- `Container` and `get_container()`, for everything else; `aclose()` / `close()` release
  what the API opened.

Each is imported on first use (PEP 562), so `import ideaforge_gateway.domain...` and the CLI's
start-up do not pay for the container, and only `AIGatewayModel` imports Agno.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ideaforge_gateway.entrypoints.python_api import (
        AIGatewayClient,
        Container,
        aclose,
        close,
        get_container,
        provider_registry,
    )
    from ideaforge_gateway.entrypoints.python_model import AIGatewayModel

_API = "ideaforge_gateway.entrypoints.python_api"
_LAZY = {
    "provider_registry": _API,
    "AIGatewayClient": _API,
    "Container": _API,
    "get_container": _API,
    "aclose": _API,
    "close": _API,
    "AIGatewayModel": "ideaforge_gateway.entrypoints.python_model",
}

__all__ = ["AIGatewayClient", "AIGatewayModel", "Container", "aclose", "close", "get_container", "provider_registry"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
