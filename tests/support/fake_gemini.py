"""A stand-in for Gemini's `generateContent` API on 127.0.0.1, in its real wire format.

- `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse` and a paginated
  `GET /v1beta/models`, under an optional route `prefix` as a gateway would mount them.
- Checks what Gemini checks: the `x-goog-api-key` header (or a bearer token, as through a
  gateway), answering a bad key with HTTP 400 `API_KEY_INVALID` as Gemini does (a bad bearer
  token with 401 `UNAUTHENTICATED`, as Google's APIs do); roles `user` and
  `model`; non-empty parts; function declarations in its OpenAPI subset; every function response
  answering a call of the model turn just before it. A `key=` query parameter is counted and
  refused: the key must never travel in a URL.
- Echoes the last user message; with tools, asks for the first tool once, then reports its result.
- Thinking as Gemini documents it: `thinkingConfig` only on 2.5 and later (`thinkingLevel` on
  Gemini 3 only), thought summaries with `includeThoughts`; Gemini 3 models (accepted, not
  listed, so the listing keeps its pages) sign their first function call, or their last text
  part, with a `thoughtSignature`, and refuse a function call of the current turn sent back
  without the signature they issued (gd:thought-signatures).
- Knobs for faults, and counters the tests assert on, guarded by a lock: the server runs on its
  own thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.loopback_server import LoopbackServer
from tests.support.schema_sample import sample

CHAT_MODELS = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash"]
_ALL_MODELS = [*CHAT_MODELS, "text-embedding-004"]
GEMINI_3 = ["gemini-3-pro-preview", "gemini-3-flash-preview"]
_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_JSON_SCHEMA_KEYS = {"$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items"}
_JSON_SCHEMA_KEYS |= {"prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "properties"}
_JSON_SCHEMA_KEYS |= {"additionalProperties", "required", "propertyOrdering"}
_SCHEMA_KEYS = {"type", "format", "description", "nullable", "enum", "items", "properties", "required", "anyOf"}
_SCHEMA_KEYS |= {"title", "minItems", "maxItems", "minimum", "maximum", "pattern", "default", "example"}
_SCHEMA_KEYS |= {"minProperties", "maxProperties", "minLength", "maxLength", "propertyOrdering"}


@dataclass
class GeminiState:
    api_key: str = "AIza-test-key"
    bearer: str | None = None
    """When set, requests must carry `Authorization: Bearer <bearer>` instead of `x-goog-api-key`."""
    page_size: int = 2
    failures: list[int] = field(default_factory=list)
    """Statuses to answer the next generate requests with, one each."""
    retry_after: str | None = None
    """A `Retry-After` header for failures; Gemini itself says it in the body's RetryInfo."""
    retry_delay: str | None = None
    malformed: int = 0
    """How many of the next generate requests get a 200 with a body that is not JSON."""
    stream_cut_after: int | None = None
    """End the stream after this many chunks, before the one with the finishReason."""
    stream_error_after: int | None = None
    delay: float = 0.0
    with_thought: bool = False
    """Start answers with a thought-summary part, which is not part of the answer."""

    strip_signatures: bool = False
    """Issue signatures but leave them out of answers, as a lossy proxy would: the control case."""
    issued: list[str] = field(default_factory=list)
    """Every thought signature answered, in order."""
    generate_requests: int = 0
    refusals: list[str] = field(default_factory=list)
    """Why each request this fake refused as invalid (400) was refused, in order."""
    model_requests: int = 0
    rejected_auth: int = 0
    key_in_url: int = 0
    urls: list[str] = field(default_factory=list)
    last_body: dict[str, Any] | None = None


class FakeGemini:
    def __init__(self, prefix: str = "", **state: Any) -> None:
        self.state = GeminiState(**state)
        self.lock = threading.Lock()
        self.prefix = prefix
        app = web.Application(client_max_size=32 * 1024 * 1024)  # as vendors take (Anthropic: 32 MB)
        app.router.add_get(f"{prefix}/v1beta/models", self._models)
        app.router.add_post(prefix + "/v1beta/models/{action}", self._generate)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        """The base URL a provider is given: the origin, plus the route prefix if any."""
        return self.server.url + self.prefix

    def __enter__(self) -> FakeGemini:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def _auth_error(self, request: web.Request) -> web.Response | None:
        with self.lock:
            self.state.urls.append(str(request.url))
            if "key" in request.query:
                self.state.key_in_url += 1
                return _error(400, "the key must not be in the URL")
        if self.state.bearer is not None:
            if request.headers.get("Authorization") == f"Bearer {self.state.bearer}":
                return None
        elif request.headers.get("x-goog-api-key") == self.state.api_key:
            return None
        with self.lock:
            self.state.rejected_auth += 1
        if self.state.bearer is not None:
            # Google's APIs answer a bad OAuth bearer token (as a gateway's route sends) with 401.
            return _error(401, "Request had invalid authentication credentials.")
        if not request.headers.get("x-goog-api-key"):
            return _error(403, "Method doesn't allow unregistered callers")
        return _error(400, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID")

    async def _models(self, request: web.Request) -> web.Response:
        with self.lock:
            self.state.model_requests += 1
        if (refused := self._auth_error(request)) is not None:
            return refused
        size = min(int(request.query.get("pageSize", "50")), self.state.page_size)
        start = int(request.query.get("pageToken", "0"))
        page = _ALL_MODELS[start : start + size]
        body: dict[str, Any] = {
            "models": [
                {
                    "name": f"models/{m}",
                    "displayName": m,
                    "supportedGenerationMethods": ["embedContent"] if "embedding" in m else ["generateContent"],
                }
                for m in page
            ]
        }
        if start + size < len(_ALL_MODELS):
            body["nextPageToken"] = str(start + size)
        return web.json_response(body)

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._auth_error(request)) is not None:
            return refused
        model, _, method = request.match_info["action"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return _error(404, "method not found")
        body = await request.json()
        with self.lock:
            self.state.generate_requests += 1
            self.state.last_body = body
            failure = self.state.failures.pop(0) if self.state.failures else None
            broken = self.state.malformed > 0
            self.state.malformed -= int(broken)
        if self.state.delay:
            await asyncio.sleep(self.state.delay)
        if failure is not None:
            return self._failure(failure)
        if broken:
            return web.Response(status=200, text='{"candidates": [{"content": ', content_type="application/json")
        if (problem := _invalid(body, model) or self._invalid_thinking(model, body)) is not None:
            with self.lock:
                self.state.refusals.append(problem)
            return _error(400, problem)
        if model not in CHAT_MODELS + GEMINI_3:
            return _error(404, f"models/{model} is not found for API version v1beta")
        parts = reply_for(body)
        if model in GEMINI_3:
            parts = self._signed(parts)
        thinking = body.get("generationConfig", {}).get("thinkingConfig", {})
        if self.state.with_thought or thinking.get("includeThoughts"):
            parts = [{"text": "Considering the question.", "thought": True}, *parts]
        if method == "streamGenerateContent":
            if request.query.get("alt") != "sse":
                return _error(400, "this fake streams server-sent events only (alt=sse)")
            return await self._stream(request, model, parts, _count(body))
        return web.json_response(_chunk(model, parts, "STOP", _USAGE, _count(body)))

    def _signed(self, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`parts` with the first function call, or else the last part, signed (gd:thought-signatures)."""
        with self.lock:
            signature = f"gsig-{len(self.state.issued)}-QUJD"
            self.state.issued.append(signature)
        at = next((i for i, p in enumerate(parts) if "functionCall" in p), len(parts) - 1)
        if self.state.strip_signatures:
            at = -1
        return [p | ({"thoughtSignature": signature} if i == at else {}) for i, p in enumerate(parts)]

    def _invalid_thinking(self, model: str, body: dict[str, Any]) -> str | None:
        """What Gemini refuses about thinking and thought signatures."""
        thinking = body.get("generationConfig", {}).get("thinkingConfig")
        if thinking is not None and model not in GEMINI_3 and not model.startswith("gemini-2.5"):
            return "Thinking is not supported by this model."
        if thinking is not None and "thinkingLevel" in thinking and model not in GEMINI_3:
            return "Thinking level is not supported for this model."
        if thinking is not None and "thinkingLevel" in thinking and "thinkingBudget" in thinking:
            return "You can only set thinking_budget or thinking_level, not both."
        if model not in GEMINI_3:
            return None
        contents = body.get("contents") or []
        # The current turn starts after the last user message with text (not function responses).
        start = max((i for i, c in enumerate(contents) if c["role"] == "user" and _has_text(c)), default=0)
        with self.lock:
            issued = set(self.state.issued)
        for i, content in enumerate(contents[start:], start):
            calls = [p for p in content["parts"] if "functionCall" in p]
            if content["role"] == "model" and calls and calls[0].get("thoughtSignature") not in issued:
                return (
                    f"Function call is missing a thought_signature in functionCall parts. This is required for "
                    f"tools to work correctly. Additional data, function call "
                    f"`default_api:{calls[0]['functionCall']['name']}`, position {i + 1}."
                )
        return None

    def _failure(self, status: int) -> web.Response:
        headers = {"Retry-After": self.state.retry_after} if self.state.retry_after else {}
        details = []
        if status == 429 and self.state.retry_delay:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": self.state.retry_delay})
        return _error(status, "fake failure", headers=headers, details=details)

    async def _stream(
        self, request: web.Request, model: str, parts: list[dict[str, Any]], count: int = 1
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        pieces: list[dict[str, Any]] = []
        for part in parts:
            if "text" in part and not part.get("thought"):
                words = [{"text": word} for word in _words(part["text"])]
                words[-1] |= {k: v for k, v in part.items() if k != "text"}  # a signature comes last
                pieces += words
            else:
                pieces.append(part)
        chunks = [_chunk(model, [piece], None, {"promptTokenCount": 9}, count) for piece in pieces[:-1]]
        chunks.append(_chunk(model, pieces[-1:], "STOP", _USAGE, count))
        for sent, chunk in enumerate(chunks):
            if self.state.stream_error_after is not None and sent >= self.state.stream_error_after:
                error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
                await response.write(f"data: {json.dumps(error)}\r\n\r\n".encode())
                return response
            if self.state.stream_cut_after is not None and sent >= self.state.stream_cut_after:
                return response  # the connection ends before any finishReason
            await response.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
        await response.write_eof()
        return response


_USAGE = {"promptTokenCount": 9, "candidatesTokenCount": 6, "thoughtsTokenCount": 2, "totalTokenCount": 17}


def _chunk(
    model: str, parts: list[dict[str, Any]], finish: str | None, usage: dict[str, int], count: int = 1
) -> dict[str, Any]:
    """`count` candidates (`candidateCount`), each with the same parts."""
    candidates: list[dict[str, Any]] = []
    for index in range(count):
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": index}
        if finish is not None:
            candidate["finishReason"] = finish
        candidates.append(candidate)
    return {"candidates": candidates, "usageMetadata": usage, "modelVersion": model, "responseId": "resp-fake"}


def _count(body: dict[str, Any]) -> int:
    return int(body.get("generationConfig", {}).get("candidateCount") or 1)


def reply_for(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Echo the last user message; ask for the first tool once, then report what it returned."""
    parts = body["contents"][-1]["parts"]
    responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
    declarations = [d for tool in body.get("tools", []) for d in tool.get("functionDeclarations", [])]
    if declarations and not responses:
        return [{"functionCall": {"name": declarations[0]["name"], "args": {"city": "Paris"}}}]
    text = " ".join(p["text"] for p in parts if "text" in p)
    generation = body.get("generationConfig") or {}
    if generation.get("responseMimeType") == "application/json":  # JSON mode, constrained by a schema if given
        schema = generation.get("responseJsonSchema")
        return [{"text": json.dumps(sample(schema) if schema is not None else {"echo": text})}]
    if responses:
        return [{"text": f"The tool said: {responses[-1]['response'].get('content')}"}]
    return [{"text": "echo: " + text}]


_RESOLUTIONS = ("MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH")


def _invalid(body: dict[str, Any], model: str = "gemini-2.5-pro") -> str | None:
    """What Gemini would refuse in `body`, or None."""
    contents = body.get("contents") or []
    if not contents:
        return "contents is not specified"
    called: list[str] = []
    for i, content in enumerate(contents):
        if content.get("role") not in ("user", "model"):
            return f"contents[{i}].role: Please use a valid role: user, model."
        parts = content.get("parts") or []
        if not parts:
            return f"contents[{i}].parts: must not be empty"
        if problem := _invalid_media(parts):
            return f"contents[{i}].parts{problem}"
        answered = [p["functionResponse"]["name"] for p in parts if "functionResponse" in p]
        if answered and sorted(answered) != sorted(called):
            return f"contents[{i}]: function responses must answer the function calls of the previous turn"
        called = [p["functionCall"]["name"] for p in parts if "functionCall" in p]
    generation = body.get("generationConfig") or {}
    declarations = [d for tool in body.get("tools", []) for d in tool.get("functionDeclarations", [])]
    for declaration in declarations:
        if "parameters" in declaration and (problem := _invalid_schema(declaration["parameters"])):
            return f"function_declarations[{declaration.get('name')}].parameters{problem}"
        if "parametersJsonSchema" in declaration:
            if "parameters" in declaration:
                return "parameters and parametersJsonSchema are mutually exclusive"
            if problem := _invalid_json_schema(declaration["parametersJsonSchema"]):
                return f"function_declarations[{declaration.get('name')}].parameters_json_schema: {problem}"
    if "responseJsonSchema" in generation:
        if "responseSchema" in generation:
            return "responseSchema and responseJsonSchema are mutually exclusive"
        if generation.get("responseMimeType") != "application/json":
            return "responseJsonSchema needs responseMimeType application/json"
        if problem := _invalid_json_schema(generation["responseJsonSchema"]):
            return f"generation_config.response_json_schema: {problem}"
    if generation.get("responseMimeType") == "application/json" and declarations and model_version(model) < 3:
        return "Function calling with a response mime type: 'application/json' is unsupported"
    return None


def _invalid_media(parts: list[dict[str, Any]]) -> str | None:
    """What Gemini would refuse in inline data or file data parts (Blob, FileData, Part)."""
    for part in parts:
        if "inlineData" in part:
            blob = part["inlineData"]
            if not blob.get("mimeType") or not blob.get("data"):
                return ".inline_data: mime_type and data are required"
            try:
                base64.b64decode(blob["data"], validate=True)
            except ValueError:
                return ".inline_data.data: Invalid value (bytes)"
        if "fileData" in part and not str(part["fileData"].get("fileUri", "")).startswith("https://"):
            return ".file_data.file_uri: Invalid or unsupported file uri"
        if "mediaResolution" in part and part["mediaResolution"].get("level") not in _RESOLUTIONS:
            return ".media_resolution.level: Invalid value"
    return None


def model_version(model: str) -> int:
    """3 for `gemini-3-pro-preview`, 2 for `gemini-2.5-flash`."""
    return int(model.split("-")[1].split(".")[0])


def _invalid_json_schema(schema: Any) -> str | None:
    """What `responseJsonSchema` / `parametersJsonSchema` refuse: keywords outside Gemini's list,
    and a `$ref` node with other than `$` keys (GT GenerateContentConfig.response_json_schema)."""
    if not isinstance(schema, dict):
        return "must be an object"
    unknown = set(schema) - _JSON_SCHEMA_KEYS
    if unknown:
        return f'Unknown name "{sorted(unknown)[0]}"'
    if "$ref" in schema and any(not k.startswith("$") for k in schema):
        return "a $ref node may only carry $ keywords"
    subs = [*schema.get("properties", {}).values(), *schema.get("$defs", {}).values()]
    subs += [*schema.get("anyOf", []), *schema.get("prefixItems", [])]
    subs += [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), dict)]
    return next((p for sub in subs if (p := _invalid_json_schema(sub)) is not None), None)


def _invalid_schema(schema: dict[str, Any]) -> str | None:
    unknown = set(schema) - _SCHEMA_KEYS
    if unknown:
        return f': Unknown name "{sorted(unknown)[0]}"'
    if schema.get("type") == "object" and not schema.get("properties"):
        return ".properties: should be non-empty for OBJECT type"
    for sub in [*schema.get("properties", {}).values(), *([schema["items"]] if "items" in schema else [])]:
        if problem := _invalid_schema(sub):
            return problem
    return None


def _has_text(content: dict[str, Any]) -> bool:
    return any("text" in p for p in content.get("parts") or [])


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def _error(
    status: int,
    message: str,
    *,
    reason: str | None = None,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> web.Response:
    details = list(details or [])
    if reason is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
        )
    error: dict[str, Any] = {"code": status, "message": message, "status": _STATUSES.get(status, "UNKNOWN")}
    if details:
        error["details"] = details
    return web.json_response({"error": error}, status=status, headers=headers)
