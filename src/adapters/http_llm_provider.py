"""The one provider over HTTP: a base URL, a credential and a wire format, over the transport.

Adding a vendor means writing its wire format (`wire_format.py`); the chat, stream and
model-listing bodies here serve every format.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import replace

from yarl import URL

from ideaforge_gateway.adapters.http.token_auth import RequestAuth
from ideaforge_gateway.adapters.http.transport import EventStream, HttpTransport
from ideaforge_gateway.adapters.wire_format import StreamAssembler, WireCall, WireFormat
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatRequest, ChatResponse, ModelInfo, ProviderName, StreamDelta
from ideaforge_gateway.domain.ports.llm_provider import LLMProvider

MAX_MODEL_PAGES = 10
"""Bounds a model listing: a server that always says there is more must not loop us forever."""
_URL_CACHE = 256


class HttpLLMProvider(LLMProvider):
    """Chat, stream and list models at `base_url` in `wire`'s format, with `auth`'s credentials.

    Where the format allows (`joins_text`), consecutive text-only deltas that arrive in one read
    are joined into one (a busy upstream's tokens then cost the gateway one event, not one each;
    an upstream that sends tokens apart still has them forwarded apart).
    """

    def __init__(self, transport: HttpTransport, *, base_url: str, auth: RequestAuth, wire: WireFormat) -> None:
        self._transport = transport
        self._base_url = base_url.rstrip("/")
        self._auth = auth
        self._wire = wire
        self._provider = wire.provider
        self._urls: dict[str, URL] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._provider.value!r}, base_url={self._base_url!r})"

    @property
    def name(self) -> ProviderName:
        return self._provider

    @property
    def wire(self) -> WireFormat:
        return self._wire

    async def chat(self, request: ChatRequest) -> ChatResponse:
        call = self._wire.chat_call(request, stream=False)
        what = self._wire.chat_what
        reply = await self._transport.send(
            "POST", self._url(call), provider=self._provider, what=what, auth=self._auth,
            body=call.body, headers=call.headers, params=call.params,
        )  # fmt: skip
        if reply.status != 200:
            raise self._wire.error(reply.status, reply.headers, reply.body, what=what, model=request.model)
        return self._wire.chat_response(reply.body, request)

    @asynccontextmanager
    async def stream(self, request: ChatRequest) -> AsyncIterator[AsyncIterator[StreamDelta]]:
        call = self._wire.chat_call(request, stream=True)
        what = f"streamed {self._wire.chat_what}"
        async with self._transport.stream(
            "POST", self._url(call), provider=self._provider, what=what, auth=self._auth,
            body=call.body, headers=call.headers, params=call.params,
        ) as events:  # fmt: skip
            if events.status != 200:
                raise self._wire.error(events.status, events.headers, events.body, what=what, model=request.model)
            async with aclosing(self._deltas(events, self._wire.stream_assembler(request))) as deltas:
                yield deltas

    async def _deltas(self, events: EventStream, assembler: StreamAssembler) -> AsyncGenerator[StreamDelta, None]:
        async for batch in events.batches():
            deltas: list[StreamDelta] = []
            failure: GatewayError | None = None
            try:
                for data in batch:
                    if data:
                        deltas += assembler.feed(data)
                    if assembler.done:
                        break
            except GatewayError as exc:
                failure = exc  # what came before the error event is still delivered first
            for delta in joined(deltas) if self._wire.joins_text else deltas:
                yield delta
            if failure is not None:
                raise failure
            if assembler.done:
                return
        for delta in assembler.at_end():
            yield delta

    async def list_models(self) -> list[ModelInfo]:
        what = "model listing"
        models: list[ModelInfo] = []
        call: WireCall | None = self._wire.models_call()
        for _ in range(MAX_MODEL_PAGES):
            if call is None:
                break
            reply = await self._transport.send(
                "GET", self._url(call), provider=self._provider, what=what, auth=self._auth,
                headers=call.headers, params=call.params,
            )  # fmt: skip
            if reply.status != 200:
                raise self._wire.error(reply.status, reply.headers, reply.body, what=what, model=None)
            page = self._wire.models_page(reply.body)
            models += page.models
            call = page.next
        return models

    def _url(self, call: WireCall) -> URL:
        """Parsed once per path, not on every request."""
        url = self._urls.get(call.path)
        if url is None:
            url = URL(self._base_url + call.path)
            if len(self._urls) < _URL_CACHE:
                self._urls[call.path] = url
        return url


def joined(deltas: list[StreamDelta]) -> list[StreamDelta]:
    """`deltas` with each run of deltas that `StreamDelta.joins` allows joined into one."""
    if len(deltas) < 2:
        return deltas
    out: list[StreamDelta] = []
    run: list[StreamDelta] = [deltas[0]]
    for delta in deltas[1:]:
        if run[0].joins(delta):
            run.append(delta)
            continue
        out.append(_join(run))
        run = [delta]
    out.append(_join(run))
    return out


def _join(run: list[StreamDelta]) -> StreamDelta:
    if len(run) == 1:
        return run[0]
    return replace(run[0], content="".join(d.content or "" for d in run))
