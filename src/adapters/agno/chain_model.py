"""An Agno model over a user's whole provider chain: AI Gateway first, the others behind it."""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from ideaforge_gateway.adapters.agno.port_model import ModelCall, PortBackedModel
from ideaforge_gateway.application.fallback_chain import ChainStream
from ideaforge_gateway.application.use_cases.generate_reply import GenerateReply, GenerateRequest
from ideaforge_gateway.domain.errors import ConfigurationError, GatewayError
from ideaforge_gateway.domain.models import Attempt, ChatResponse, Generation, ProviderName, StreamDelta, Tier, Usage

DEFAULT_MODEL = "default"
"""As a `ProviderChainModel` id: each provider's default (the user's default model when set)."""


class RunLedger:
    """What the model calls of one agent run went through, for whoever ran the agent.

    Agno keeps a run's exceptions to itself (a failed run is a `RunOutput` with an error status),
    so the model writes down here who answered, the usage, every attempt, and the error that
    ended the run, with all the run's attempts attached to it. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts: list[Attempt] = []
        self.provider: ProviderName | None = None
        self.model: str | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.error: GatewayError | None = None

    def __repr__(self) -> str:
        return f"RunLedger(attempts={len(self.attempts)}, provider={self.provider}, failed={self.error is not None})"

    def answered(
        self,
        provider: ProviderName | None,
        model: str | None,
        attempts: Sequence[Attempt],
        usage: Usage | None,
        finish_reason: str | None,
    ) -> None:
        with self._lock:
            self.attempts.extend(attempts)
            self.provider, self.model, self.finish_reason = provider, model, finish_reason
            if usage is not None:
                self.usage = usage if self.usage is None else self.usage + usage

    def failed(self, error: GatewayError) -> None:
        with self._lock:
            self.attempts.extend(error.attempts)
            error.attempts = tuple(self.attempts)
            self.error = error


@dataclass
class ProviderChainModel(PortBackedModel):
    """`Agent(model=...)` for a user and a tier: each call goes through `GenerateReply`, so the
    user's provider chain answers it, AI Gateway first, falling over as the chain decides.

    `id` is a model id, a tier name (`fast`, `standard`, `premium`: each provider's model for
    that tier, or the user's default model when set), or `default`. `ledger`, when given,
    records the run (see `RunLedger`); copies of the model share `reply`, `ledger` and `bridge`.
    """

    id: str = DEFAULT_MODEL
    name: str = "ProviderChainModel"
    provider: str = "IdeaForge provider chain"
    user_id: str | None = None
    reply: GenerateReply | None = field(default=None, repr=False, compare=False)
    ledger: RunLedger | None = field(default=None, repr=False, compare=False)

    _shared_fields: ClassVar[tuple[str, ...]] = ("bridge", "reply", "ledger")

    @staticmethod
    def id_for(tier: Tier | None, model: str | None) -> str:
        """The id for an explicit model, else a tier, else each provider's default."""
        return model or (tier.value if tier else DEFAULT_MODEL)

    async def _complete(self, call: ModelCall) -> ChatResponse:
        generation: Generation = await self._reply().execute(self._request(call))
        response = generation.response
        self._record(response.provider, response.model, generation.attempts, response.usage, response.finish_reason)
        return response

    async def _stream(self, call: ModelCall) -> AsyncGenerator[StreamDelta, None]:
        reply, request = self._reply(), self._request(call)
        await reply.prepare(request)
        stream: ChainStream = reply.stream(request)
        usage: Usage | None = None
        finish: str | None = None
        async for delta in stream.deltas:
            usage = delta.usage or usage
            finish = delta.finish_reason or finish
            yield delta
        self._record(stream.provider, stream.model, stream.attempts, usage, finish)

    def _failed(self, error: GatewayError) -> None:
        if self.ledger is not None:
            self.ledger.failed(error)

    def _record(
        self,
        provider: ProviderName | None,
        model: str | None,
        attempts: Sequence[Attempt],
        usage: Usage | None,
        finish: str | None,
    ) -> None:
        if self.ledger is not None:
            self.ledger.answered(provider, model, attempts, usage, finish)

    def _reply(self) -> GenerateReply:
        if self.reply is None:
            raise ConfigurationError("ProviderChainModel has no GenerateReply: build it from the container")
        return self.reply

    def _request(self, call: ModelCall) -> GenerateRequest:
        return GenerateRequest(
            messages=call.messages,
            model=None if self.id == DEFAULT_MODEL else self.id,
            user_id=self.user_id,
            options=call.options,
        )
