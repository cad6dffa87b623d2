"""Agent runs: a prompt answered by an agent whose model is a user's provider chain.

Framework-free like the rest of the domain: tools are plain Python functions, which any agent
framework can call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ideaforge_gateway.domain.models import Attempt, ProviderName, Tier, ToolCall, Usage


@dataclass(frozen=True, slots=True)
class AgentRunRequest:
    """What to ask an agent, and for whom.

    `tier` and `model` choose the model as for a plain generation (`model` wins; a tier name used
    as a model means that tier); with neither, each provider's default applies.
    """

    prompt: str
    user_id: str | None = None
    tier: Tier | None = None
    model: str | None = None
    system: str | None = None
    """The system prompt, sent as it is; None leaves the agent's default."""
    tools: Sequence[Callable[..., Any]] = ()
    """Python functions the agent may call; their signatures and docstrings describe them."""
    images: Sequence[str] = ()
    """Images to show the model with the prompt: https URLs or base64 `data:` URIs, in order."""


@dataclass(frozen=True, slots=True)
class AgentRunResult:
    """A completed agent run.

    `provider` and `model` are those that wrote the final answer; `usage` and `attempts` cover
    every model call of the run (a tool round trip makes several), in order.
    """

    content: str
    provider: ProviderName
    model: str
    attempts: tuple[Attempt, ...]
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    """The tool calls the agent made, with the arguments the model wrote."""


async def _no_text() -> AsyncGenerator[str, None]:
    return
    yield  # pragma: no cover


@dataclass(slots=True)
class AgentRunStream:
    """A streamed agent run. Iterating `text` drives the run and yields the answer as it arrives.

    The other fields are filled in when `text` ends without error; an error ends `text` with the
    `GatewayError` that ended the run, its attempts attached.
    """

    text: AsyncGenerator[str, None] = field(default_factory=_no_text)
    provider: ProviderName | None = None
    model: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
