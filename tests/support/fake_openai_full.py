"""An OpenAI-compatible upstream on 127.0.0.1 whose answers hold every field OpenAI's chat
completions can hold, for tests of the gateway passing them on (issue 13: what the provider
answered is what the client gets).

- `POST /v1/chat/completions` with `Authorization: Bearer <api_key>`; every body is recorded.
- `n` choices, each `answer <i>`; with `logprobs: true`, a `logprobs` object per choice (and per
  streamed chunk); a user message containing "refuse" gets a `refusal` and no content; every
  message has `annotations`; `system_fingerprint`, `service_tier` and usage details
  (`prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`) on the
  answer, on every chunk, and on the usage chunk.
- A model in `broken_models` gets HTTP 500 `server_error`; one in neither list gets 404
  `model_not_found`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from tests.support.loopback_server import LoopbackServer

MODELS = ("gpt-full", "gpt-other")
FINGERPRINT = "fp_loopback"
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 9,
    "total_tokens": 21,
    "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 5, "audio_tokens": 0},
}
REFUSAL = "I can't help with that."
ANNOTATIONS = [{"type": "url_citation", "url_citation": {"url": "https://example.com", "title": "Example"}}]


@dataclass
class FullState:
    api_key: str = "sk-full"
    broken_models: set[str] = field(default_factory=set)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def requests_for(self, model: str) -> int:
        return sum(1 for b in self.bodies if b.get("model") == model)


def logprobs_for(token: str) -> dict[str, Any]:
    entry = {"token": token, "logprob": -0.25, "bytes": list(token.encode())}
    return {"content": [{**entry, "top_logprobs": [entry]}], "refusal": None}


class FakeOpenAIFull:
    def __init__(self, **state: Any) -> None:
        self.state = FullState(**state)
        self.lock = threading.Lock()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> Self:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.state.api_key}":
            return _error(401, "invalid_api_key")
        body = await request.json()
        with self.lock:
            self.state.bodies.append(body)
        model = body.get("model")
        if model in self.state.broken_models:
            return _error(500, "server_error")
        if model not in MODELS:
            return _error(404, "model_not_found")
        refuse = any("refuse" in str(m.get("content")) for m in body["messages"] if m.get("role") == "user")
        count = body.get("n") or 1
        with_logprobs = bool(body.get("logprobs"))
        if body.get("stream"):
            return await self._stream(request, model, count, with_logprobs, refuse)
        choices = []
        for i in range(count):
            message = {
                "role": "assistant",
                "content": None if refuse else f"answer {i}",
                "refusal": REFUSAL if refuse else None,
                "annotations": ANNOTATIONS,
            }
            choice: dict[str, Any] = {"index": i, "message": message, "finish_reason": "stop"}
            choice["logprobs"] = logprobs_for(f"answer {i}") if with_logprobs else None
            choices.append(choice)
        return web.json_response(
            {
                "id": "chatcmpl-upstream",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": choices,
                "usage": USAGE,
                "system_fingerprint": FINGERPRINT,
                "service_tier": "default",
            }
        )

    async def _stream(
        self, request: web.Request, model: str, count: int, with_logprobs: bool, refuse: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {
                "id": "chatcmpl-upstream",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "system_fingerprint": FINGERPRINT,
                "service_tier": "default",
                "choices": choices,
                **extra,
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        for i in range(count):  # as OpenAI streams `n`: one choice per chunk, interleaved
            role = {"role": "assistant", "content": "", "refusal": None}
            await send([{"index": i, "delta": role, "logprobs": None, "finish_reason": None}])
        for piece in range(2):  # "answer", then " <i>"
            for i in range(count):
                text = "answer" if piece == 0 else f" {i}"
                delta = {"refusal": text} if refuse else {"content": text}
                logprobs = logprobs_for(text) if with_logprobs else None
                await send([{"index": i, "delta": delta, "logprobs": logprobs, "finish_reason": None}])
        for i in range(count):
            await send([{"index": i, "delta": {}, "logprobs": None, "finish_reason": "stop"}])
        await send([], usage=USAGE)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _error(status: int, code: str) -> web.Response:
    error = {"message": f"fake {code}", "type": "server_error" if status >= 500 else "invalid_request_error"}
    return web.json_response({"error": {**error, "code": code, "param": None}}, status=status)
