"""The AI Gateway's per-family hosts, on one loopback server, for route templates such as
`{url}/{family}/{region.}{env}/{instance_id}`.

- `openai`: OpenAI-compatible `GET /v1/models` and `POST /v1/chat/completions` (JSON and SSE).
- `azure`: Azure OpenAI's `POST /openai/deployments/{deployment}/chat/completions?api-version=`
  (JSON and SSE, with Azure's first stream chunk that has no choices, only
  `prompt_filter_results`), `DeploymentNotFound` for an unknown deployment, 400 without an
  `api-version`. The credential may come as Azure's `api-key` header or as a bearer.
- `anthropic`: `POST /v1/messages` (JSON); `google-gemini`: `POST /v1beta/models/{model}:generateContent`.

Every route checks the instance id (404 for one it does not host) and the credential against
the `FakeAIGateway` that issued it (`FakeAIGateway.accepts`): its OAuth2 tokens, or its static
key when it accepts one. Each request is recorded as a `Hit`, for the tests to assert on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.fake_ai_gateway import MODELS, FakeAIGateway
from tests.support.fake_ai_gateway import reply_for as openai_reply
from tests.support.fake_anthropic import reply_for as anthropic_reply
from tests.support.fake_gemini import reply_for as gemini_reply
from tests.support.loopback_server import LoopbackServer

TEMPLATE = "{url}/{{family}}/{{region.}}{{env}}/{{instance_id}}"
"""The route template that points at this server: `TEMPLATE.format(url=hosts.url)`."""
DEPLOYMENTS = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
"""Azure deployment name, and the model it runs (which Azure's answers name)."""


@dataclass(frozen=True)
class Hit:
    family: str
    where: str
    """`{region.}{env}` as the request's path had it: `prod`, `eu.prod`."""
    instance_id: str
    path: str
    """The path under the instance (`/v1/chat/completions`)."""
    query: dict[str, str]
    credential: str | None = field(repr=False)
    """The credential the request carried, whichever header it came in."""
    header: str | None
    """Which header carried it: `Authorization` (a bearer) or `api-key`."""
    body: dict[str, Any] | None = None


class FakeGatewayHosts:
    def __init__(self, gateway: FakeAIGateway, *, instances: Iterable[str] = ("inst-1",)) -> None:
        self.gateway = gateway
        self.instances = set(instances)
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        app = web.Application()
        base = "/{family}/{where}/{instance}"
        app.router.add_get(base + "/v1/models", self._models)
        app.router.add_post(base + "/v1/chat/completions", self._openai_chat)
        app.router.add_post(base + "/openai/deployments/{deployment}/chat/completions", self._azure_chat)
        app.router.add_post(base + "/v1/messages", self._messages)
        app.router.add_post(base + "/v1beta/models/{action}", self._generate)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def template(self) -> str:
        return TEMPLATE.format(url=self.url)

    def __enter__(self) -> FakeGatewayHosts:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def families(self) -> list[str]:
        with self.lock:
            return [hit.family for hit in self.hits]

    async def _admit(self, request: web.Request, family: str) -> web.Response | dict[str, Any] | None:
        """Record the request; an error answer, or the JSON body (None for a GET)."""
        info = request.match_info
        credential, header = _credential(request, allow_api_key=family == "azure")
        body = await request.json() if request.can_read_body else None
        hit = Hit(
            family=info["family"],
            where=info["where"],
            instance_id=info["instance"],
            path=request.path.split(info["instance"], 1)[1],
            query=dict(request.query),
            credential=credential,
            header=header,
            body=body,
        )
        with self.lock:
            self.hits.append(hit)
        if info["family"] != family:
            return _error(404, "not_found", f"no {family} route on the {info['family']} host")
        if info["instance"] not in self.instances:
            return _error(404, "not_found", "no such instance")
        if credential is None or not self.gateway.accepts(credential):
            return _error(401, "invalid_api_key", "the credential was not accepted")
        return body if body is not None else {}

    async def _models(self, request: web.Request) -> web.Response:
        admitted = await self._admit(request, "openai")
        if isinstance(admitted, web.Response):
            return admitted
        return web.json_response(
            {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "ai-gateway"} for m in MODELS]}
        )

    async def _openai_chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._admit(request, "openai")
        if isinstance(body, web.Response):
            return body
        assert body is not None
        if body.get("model") not in MODELS:
            return _error(404, "model_not_found", "no such model")
        content, _ = openai_reply(body)
        return await _completion(request, body, body["model"], content or "")

    async def _azure_chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._admit(request, "azure")
        if isinstance(body, web.Response):
            return body
        assert body is not None
        if not request.query.get("api-version"):
            return _error(400, "missing_api_version", "the api-version query parameter is required")
        model = DEPLOYMENTS.get(request.match_info["deployment"])
        if model is None:
            return _error(404, "DeploymentNotFound", "The API deployment for this resource does not exist.")
        content, _ = openai_reply(body)
        return await _completion(request, body, model, content or "", azure=True)

    async def _messages(self, request: web.Request) -> web.Response:
        body = await self._admit(request, "anthropic")
        if isinstance(body, web.Response):
            return body
        assert body is not None
        if request.headers.get("anthropic-version") != "2023-06-01":
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        return web.json_response(
            {
                "id": "msg_01fake",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": anthropic_reply(body, False),
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 8},
            }
        )

    async def _generate(self, request: web.Request) -> web.Response:
        body = await self._admit(request, "google-gemini")
        if isinstance(body, web.Response):
            return body
        assert body is not None
        model, _, method = request.match_info["action"].partition(":")
        if method != "generateContent":
            return _error(400, "invalid_request", "this fake answers generateContent only")
        candidate = {"content": {"parts": gemini_reply(body), "role": "model"}, "index": 0, "finishReason": "STOP"}
        usage = {"promptTokenCount": 9, "candidatesTokenCount": 6, "totalTokenCount": 15}
        return web.json_response({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})


def _credential(request: web.Request, *, allow_api_key: bool) -> tuple[str | None, str | None]:
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        return authorization[7:], "Authorization"
    if allow_api_key and "api-key" in request.headers:
        return request.headers["api-key"], "api-key"
    return None, None


async def _completion(
    request: web.Request, body: dict[str, Any], model: str, content: str, *, azure: bool = False
) -> web.StreamResponse:
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    if not body.get("stream"):
        message = {"role": "assistant", "content": content}
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            }
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    chunks: list[dict[str, Any]] = []
    if azure:  # Azure's content filter reports on the prompt first, in a chunk with no choices
        chunks.append({"id": "", "object": "", "model": "", "choices": [], "prompt_filter_results": []})
    for i, word in enumerate(content.split(" ")):
        delta = {"content": word if i == 0 else " " + word}
        chunks.append({"id": "chatcmpl-fake", "model": model, "choices": [{"index": 0, "delta": delta}]})
    chunks.append(
        {"id": "chatcmpl-fake", "model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    )
    chunks.append({"id": "chatcmpl-fake", "model": model, "choices": [], "usage": usage})
    for chunk in chunks:
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}}, status=status
    )
