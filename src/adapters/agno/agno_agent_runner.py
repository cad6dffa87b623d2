"""The `AgentRunner` port on Agno: one Agno `Agent` per run, its model the user's provider chain."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import cast

from agno.agent import Agent
from agno.media import Image
from agno.run.agent import RunContentEvent, RunErrorEvent, RunOutput
from agno.run.base import RunStatus

from ideaforge_gateway.adapters.agno.chain_model import ProviderChainModel, RunLedger
from ideaforge_gateway.adapters.http.loop_bridge import LoopBridge
from ideaforge_gateway.application.use_cases.generate_reply import GenerateReply
from ideaforge_gateway.domain.agents import AgentRunRequest, AgentRunResult, AgentRunStream
from ideaforge_gateway.domain.errors import GatewayError, ProviderUnavailableError
from ideaforge_gateway.domain.models import ToolCall
from ideaforge_gateway.domain.ports.agent_runner import AgentRunner

log = logging.getLogger("ideaforge.agno")


class AgnoAgentRunner(AgentRunner):
    """Runs a fresh Agno `Agent` per request over a `ProviderChainModel` for its user and tier.

    - The agent has no storage, memory or retries of its own; telemetry is `telemetry` (off
      unless the operator turned it on).
    - A run is an answer only if Agno says it completed: any other status raises the domain
      error the model recorded (attempts included), or, if Agno failed elsewhere (a tool, say),
      a `GatewayError` with Agno's message.
    - Agno's own log lines go to the `ideaforge.agno` logger at DEBUG (see `route_agno_logs`).
    """

    def __init__(self, reply: GenerateReply, bridge: LoopBridge, *, telemetry: bool = False) -> None:
        self._reply = reply
        self._bridge = bridge
        self._telemetry = telemetry
        route_agno_logs()

    @property
    def telemetry(self) -> bool:
        """Whether the agents this runner builds may send Agno's telemetry."""
        return self._telemetry

    async def run(self, request: AgentRunRequest) -> AgentRunResult:
        ledger = RunLedger()
        output = await self._agent(request, ledger).arun(request.prompt, images=_images(request))
        if output.status is not RunStatus.completed:
            raise _failure(ledger, output.status, output.content)
        if ledger.provider is None or ledger.model is None:
            raise ProviderUnavailableError("the agent finished without asking any provider")
        return AgentRunResult(
            content=_text(output.content),
            provider=ledger.provider,
            model=ledger.model,
            attempts=tuple(ledger.attempts),
            usage=ledger.usage,
            finish_reason=ledger.finish_reason,
            tool_calls=_tool_calls(output),
        )

    def stream(self, request: AgentRunRequest) -> AgentRunStream:
        result = AgentRunStream()
        result.text = self._stream(request, result)
        return result

    async def _stream(self, request: AgentRunRequest, result: AgentRunStream) -> AsyncGenerator[str, None]:
        ledger = RunLedger()
        # `arun(stream=True)` is an async generator; Agno annotates it as an AsyncIterator only.
        events = cast(
            "AsyncGenerator[object, None]",
            self._agent(request, ledger).arun(
                request.prompt, images=_images(request), stream=True, yield_run_output=True
            ),
        )
        output: RunOutput | None = None
        async with aclosing(events):
            async for event in events:
                if isinstance(event, RunOutput):
                    output = event
                elif isinstance(event, RunErrorEvent):
                    raise _failure(ledger, RunStatus.error, event.content)
                elif isinstance(event, RunContentEvent) and isinstance(event.content, str) and event.content:
                    yield event.content
        if output is None or output.status is not RunStatus.completed:
            raise _failure(ledger, output.status if output else RunStatus.error, output.content if output else None)
        result.provider, result.model = ledger.provider, ledger.model
        result.usage, result.finish_reason = ledger.usage, ledger.finish_reason
        result.attempts[:] = ledger.attempts
        result.tool_calls[:] = _tool_calls(output)

    def _agent(self, request: AgentRunRequest, ledger: RunLedger) -> Agent:
        model = ProviderChainModel(
            id=ProviderChainModel.id_for(request.tier, request.model),
            user_id=request.user_id,
            reply=self._reply,
            ledger=ledger,
            bridge=self._bridge,
        )
        return Agent(
            model=model,
            tools=list(request.tools) or None,
            system_message=request.system,
            telemetry=self._telemetry,
        )


def _images(request: AgentRunRequest) -> list[Image] | None:
    """The request's image URLs and data URIs as Agno images (`agno.media` maps them back to
    `image_url` parts unchanged)."""
    return [Image(url=url) for url in request.images] or None


def _failure(ledger: RunLedger, status: RunStatus, content: object) -> GatewayError:
    if ledger.error is not None:
        return ledger.error
    error = GatewayError(f"the agent run ended with status {status.value}: {_text(content) or 'no detail'}")
    error.attempts = tuple(ledger.attempts)
    return error


def _text(content: object) -> str:
    if content is None:
        return ""
    return content if isinstance(content, str) else json.dumps(content, default=str)


def _tool_calls(output: RunOutput) -> tuple[ToolCall, ...]:
    return tuple(
        ToolCall(id=t.tool_call_id or "", name=t.tool_name or "", arguments=json.dumps(t.tool_args or {}))
        for t in output.tools or ()
    )


class _ToDebug(logging.Handler):
    """Re-emits Agno's records on `ideaforge.agno` at DEBUG: they repeat errors this project
    reports itself, and Agno writes them to stdout when it is not a terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", record.getMessage())


def route_agno_logs() -> None:
    """Send Agno's agent logger through ours, at DEBUG, instead of to stdout. Idempotent."""
    agno_logger = logging.getLogger("agno")
    if not any(isinstance(h, _ToDebug) for h in agno_logger.handlers):
        agno_logger.handlers = [_ToDebug()]
        agno_logger.propagate = False
