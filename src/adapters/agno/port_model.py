"""The Agno `Model` contract, once, over anything that answers in the domain's terms.

Agno 3.x asks a model for `invoke`, `ainvoke`, `invoke_stream`, `ainvoke_stream` and two response
parsers (`agno/models/base.py`); `OpenAIChat` is the reference implementation this mirrors.
Subclasses say only how to get a `ChatResponse` or a stream of `StreamDelta`s for a call.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, cast

from agno.exceptions import AgnoError
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse

from ideaforge_gateway.adapters.agno.mapping import (
    delta_to_agno,
    error_to_agno,
    merge_tool_call_fragments,
    messages_to_domain,
    response_to_agno,
    tool_choice_to_domain,
    tools_to_domain,
)
from ideaforge_gateway.adapters.agno.response_format import response_format_to_openai
from ideaforge_gateway.adapters.http.loop_bridge import LoopBridge, default_bridge
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ChatResponse, StreamDelta


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One model call of an agent run, in the domain's terms: the conversation, and every option
    of the call and of the model (its tools, tool choice and settings) in one `ChatOptions`."""

    messages: list[ChatMessage]
    options: ChatOptions


@dataclass
class PortBackedModel(Model):
    """An Agno model whose calls go through this project's providers and error types.

    - Async calls (`ainvoke`, `ainvoke_stream`) run on the caller's loop, whichever it is; sync
      calls (`invoke`, `invoke_stream`) run on a running loop found by `bridge` (see `LoopBridge`).
    - Domain errors reach Agno as Agno's exceptions (`mapping.error_to_agno`), with the domain
      error as their `__cause__`.
    - `copy.deepcopy` (which Agno applies, e.g. to fallback models) shares the fields named in
      `_shared_fields` with the copy instead of copying them: providers, token caches, locks and
      the bridge must stay one per process, and Agno's own copy would drop or duplicate them.
    - Structured outputs are native (`supports_native_structured_outputs`): Agno's
      `response_format` (an output schema class, or a `json_object`/`json_schema` dict) goes to
      the provider as OpenAI's `response_format` (`response_format.py`), `strict` per
      `strict_output` as in Agno's `OpenAIChat`; each wire format honours it or refuses it.
    - `temperature`, `max_tokens` and `stop` are typed options; `request_params` (as Agno's
      `OpenAIChat` takes them) go as given in the options' `extra`.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    request_params: dict[str, Any] | None = None
    supports_native_structured_outputs: bool = True
    strict_output: bool = True
    bridge: LoopBridge | None = field(default=None, repr=False, compare=False)

    _shared_fields: ClassVar[tuple[str, ...]] = ("bridge",)

    # What a subclass provides.
    @abstractmethod
    async def _complete(self, call: ModelCall) -> ChatResponse:
        """The whole answer to `call`; raises `GatewayError`."""

    @abstractmethod
    def _stream(self, call: ModelCall) -> AsyncGenerator[StreamDelta, None]:
        """The answer to `call` as it arrives; raises `GatewayError`. Closed when left early."""

    def _failed(self, error: GatewayError) -> None:
        """Called with each domain error before it is raised to Agno as Agno's."""

    # Agno's contract.
    def invoke(
        self,
        *,
        messages: list[Message],
        assistant_message: Message,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        compress_tool_results: bool = False,
        response_format: object = None,
        **_: Any,
    ) -> ModelResponse:
        call = self._call(messages, tools, tool_choice, compress_tool_results, response_format)
        _timer(assistant_message, start=True)
        response = self._loop_bridge.call(lambda: self._answer(call))
        _timer(assistant_message, start=False)
        return self._parse_provider_response(response)

    async def ainvoke(
        self,
        *,
        messages: list[Message],
        assistant_message: Message,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        compress_tool_results: bool = False,
        response_format: object = None,
        **_: Any,
    ) -> ModelResponse:
        call = self._call(messages, tools, tool_choice, compress_tool_results, response_format)
        _timer(assistant_message, start=True)
        response = await self._loop_bridge.acall(lambda: self._answer(call))
        _timer(assistant_message, start=False)
        return self._parse_provider_response(response)

    def invoke_stream(
        self,
        *,
        messages: list[Message],
        assistant_message: Message,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        compress_tool_results: bool = False,
        response_format: object = None,
        **_: Any,
    ) -> Iterator[ModelResponse]:
        call = self._call(messages, tools, tool_choice, compress_tool_results, response_format)
        _timer(assistant_message, start=True)
        for delta in self._loop_bridge.iterate(lambda: self._deltas(call)):
            yield self._parse_provider_response_delta(delta)
        _timer(assistant_message, start=False)

    async def ainvoke_stream(
        self,
        *,
        messages: list[Message],
        assistant_message: Message,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        compress_tool_results: bool = False,
        response_format: object = None,
        **_: Any,
    ) -> AsyncIterator[ModelResponse]:
        call = self._call(messages, tools, tool_choice, compress_tool_results, response_format)
        _timer(assistant_message, start=True)
        async for delta in self._loop_bridge.aiterate(lambda: self._deltas(call)):
            yield self._parse_provider_response_delta(delta)
        _timer(assistant_message, start=False)

    def _parse_provider_response(self, response: ChatResponse, **_: Any) -> ModelResponse:
        return response_to_agno(response)

    def _parse_provider_response_delta(self, response: StreamDelta) -> ModelResponse:
        return delta_to_agno(response)

    def parse_tool_calls(self, tool_calls_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Agno collects every streamed tool-call fragment, then asks for whole calls."""
        return merge_tool_call_fragments(tool_calls_data)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        for name in self._shared_fields:
            shared = getattr(self, name, None)
            if shared is not None:
                memo[id(shared)] = shared  # deepcopy returns what the memo holds: the same object
        copied = super().__deepcopy__(memo)  # type: ignore[no-untyped-call]  # Agno's is untyped
        return cast(Self, copied)

    # The plumbing.
    @property
    def _loop_bridge(self) -> LoopBridge:
        return self.bridge or default_bridge()

    def _call(
        self,
        messages: Sequence[Message],
        tools: Sequence[Mapping[str, Any]] | None,
        tool_choice: str | Mapping[str, Any] | None,
        compressed: bool,
        response_format: object = None,
    ) -> ModelCall:
        answer_format = response_format_to_openai(response_format, strict=self.strict_output)
        try:
            options = ChatOptions(
                tools=tools_to_domain(tools),
                tool_choice=tool_choice_to_domain(tool_choice),
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                stop=self.stop,
                extra=dict(self.request_params or {})
                | ({"response_format": answer_format} if answer_format is not None else {}),
            )
            return ModelCall(messages_to_domain(messages, compressed=compressed), options)
        except GatewayError as exc:
            raise self._agno_error(exc) from exc

    async def _answer(self, call: ModelCall) -> ChatResponse:
        try:
            return await self._complete(call)
        except GatewayError as exc:
            raise self._agno_error(exc) from exc

    async def _deltas(self, call: ModelCall) -> AsyncGenerator[StreamDelta, None]:
        try:
            async with aclosing(self._stream(call)) as source:
                async for delta in source:
                    yield delta
        except GatewayError as exc:
            raise self._agno_error(exc) from exc

    def _agno_error(self, error: GatewayError) -> AgnoError:
        self._failed(error)
        return error_to_agno(error, model_name=self.name, model_id=self.id)


def _timer(message: Message, *, start: bool) -> None:
    """Time the call on the message's metrics, as Agno's own models do (`start_timer` is untyped)."""
    if start:
        message.metrics.start_timer()  # type: ignore[no-untyped-call]
    else:
        message.metrics.stop_timer()
