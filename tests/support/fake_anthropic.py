"""A stand-in for Anthropic's Messages API on 127.0.0.1, in its real wire format.

- `POST /v1/messages` (JSON, and SSE with Anthropic's event sequence) and a paginated
  `GET /v1/models`, under an optional route `prefix` as a gateway would mount them.
- Checks what Anthropic checks: `x-api-key` (or a bearer token, as through a gateway), the
  `anthropic-version` header, `max_tokens`, roles, and that every `tool_result` answers a
  `tool_use` of the assistant turn just before it.
- Echoes the last user message; with tools, asks for the first tool once, then reports its result.
- Extended thinking as Anthropic documents it: with `thinking` on, checks the budget (at least
  1024, below `max_tokens`) and the sampling it forbids, answers with a signed thinking block
  (and a redacted one, with `redacted`) before the rest, streamed as `thinking_delta` and
  `signature_delta`; and refuses a tool round trip whose last assistant turn does not start
  with the thinking blocks it issued, unmodified.
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

MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022"]
STRUCTURED_OUTPUT_MODELS: tuple[str, ...] = ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")
STRUCTURED_OUTPUT_MODELS += ("claude-opus-4-6", "claude-sonnet-4-6")
"""The models with structured outputs (cd:build-with-claude/structured-outputs)."""
_OUTPUT_SCHEMA_KEYS = {"type", "enum", "const", "anyOf", "allOf", "$ref", "$defs", "definitions", "default"}
_OUTPUT_SCHEMA_KEYS |= {"required", "additionalProperties", "properties", "items", "description", "format", "minItems"}
_OUTPUT_SCHEMA_KEYS |= {"pattern"}
_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass
class AnthropicState:
    api_key: str = "sk-ant-test-key"
    bearer: str | None = None
    """When set, requests must carry `Authorization: Bearer <bearer>` instead of `x-api-key`."""
    page_size: int = 2
    failures: list[int] = field(default_factory=list)
    """Statuses to answer the next message requests with, one each."""
    retry_after: str | None = None
    malformed: int = 0
    """How many of the next message requests get a 200 with a body that is not JSON."""
    stream_cut_after: int | None = None
    """End the stream after this many events, without `message_stop`."""
    stream_error_after: int | None = None
    stream_error_type: str = "overloaded_error"
    delay: float = 0.0
    text_before_tool: str | None = None
    """With tools, a text block before the `tool_use` block."""
    redacted: bool = False
    """With thinking on, a `redacted_thinking` block after the thinking block."""
    issued: dict[str, str] = field(default_factory=dict)
    """Signature (or redacted data) -> the thinking text it signs, for every block answered."""

    message_requests: int = 0
    refusals: list[str] = field(default_factory=list)
    """Why each request this fake refused as invalid (400) was refused, in order."""
    model_requests: int = 0
    rejected_auth: int = 0
    last_body: dict[str, Any] | None = None
    last_headers: dict[str, str] = field(default_factory=dict)


class FakeAnthropic:
    def __init__(self, prefix: str = "", **state: Any) -> None:
        self.state = AnthropicState(**state)
        self.lock = threading.Lock()
        self.prefix = prefix
        app = web.Application(client_max_size=32 * 1024 * 1024)  # as vendors take (Anthropic: 32 MB)
        app.router.add_post(f"{prefix}/v1/messages", self._messages)
        app.router.add_get(f"{prefix}/v1/models", self._models)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        """The base URL a provider is given: the origin, plus the route prefix if any."""
        return self.server.url + self.prefix

    def __enter__(self) -> FakeAnthropic:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def _auth_error(self, request: web.Request) -> web.Response | None:
        with self.lock:
            self.state.last_headers = dict(request.headers)
        if request.headers.get("anthropic-version") != "2023-06-01":
            return _error(400, "anthropic-version: header is required")
        if self.state.bearer is not None:
            ok = request.headers.get("Authorization") == f"Bearer {self.state.bearer}"
        else:
            ok = request.headers.get("x-api-key") == self.state.api_key and "Authorization" not in request.headers
        if ok:
            return None
        with self.lock:
            self.state.rejected_auth += 1
        return _error(401, "invalid x-api-key")

    async def _models(self, request: web.Request) -> web.Response:
        with self.lock:
            self.state.model_requests += 1
        if (refused := self._auth_error(request)) is not None:
            return refused
        limit = min(int(request.query.get("limit", "20")), self.state.page_size)
        after = request.query.get("after_id")
        start = MODELS.index(after) + 1 if after in MODELS else 0
        page = MODELS[start : start + limit]
        return web.json_response(
            {
                "data": [
                    {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in page
                ],
                "has_more": start + limit < len(MODELS),
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            }
        )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._auth_error(request)) is not None:
            return refused
        body = await request.json()
        with self.lock:
            self.state.message_requests += 1
            self.state.last_body = body
            failure = self.state.failures.pop(0) if self.state.failures else None
            broken = self.state.malformed > 0
            self.state.malformed -= int(broken)
        if self.state.delay:
            await asyncio.sleep(self.state.delay)
        if failure is not None:
            headers = {"retry-after": self.state.retry_after} if self.state.retry_after else {}
            return _error(failure, "fake failure", headers)
        if broken:
            return web.Response(status=200, text='{"id": "msg_01", "content": [', content_type="application/json")
        if (problem := _invalid(body) or self._invalid_thinking(body)) is not None:
            with self.lock:
                self.state.refusals.append(problem)
            return _error(400, problem)
        if body["model"] not in MODELS:
            return _error(404, f"model: {body['model']}")
        blocks = self._thinking_blocks(body) + reply_for(body, self.state.text_before_tool)
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        if body.get("stream"):
            return await self._stream(request, body["model"], blocks, stop)
        return web.json_response(
            {
                "id": "msg_01fake",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": blocks,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 8, "cache_read_input_tokens": 3},
            }
        )

    def _thinking_blocks(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The thinking blocks an answer starts with, each signed and remembered."""
        if not thinking_on(body):
            return []
        with self.lock:
            n = len(self.state.issued)
            text = f"Thinking it through ({n})."
            blocks: list[dict[str, Any]] = [{"type": "thinking", "thinking": text, "signature": f"sig-{n}-Zm9v"}]
            self.state.issued[f"sig-{n}-Zm9v"] = text
            if self.state.redacted:
                blocks.append({"type": "redacted_thinking", "data": f"redacted-{n}"})
                self.state.issued[f"redacted-{n}"] = ""
        return blocks

    def _invalid_thinking(self, body: dict[str, Any]) -> str | None:
        """What Anthropic refuses about thinking (cd:build-with-claude/extended-thinking)."""
        thinking = body.get("thinking") or {}
        if thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or budget < 1024:
                return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            if budget >= body["max_tokens"]:
                return "`max_tokens` must be greater than `thinking.budget_tokens`"
            if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
                return "Thinking may not be enabled when tool_choice forces tool use."
        if thinking_on(body) and (body.get("temperature", 1) != 1 or "top_k" in body):
            return "temperature may only be set to 1 when thinking is enabled"
        with self.lock:
            issued = dict(self.state.issued)
        for i, message in enumerate(body.get("messages") or []):
            blocks = message["content"] if isinstance(message["content"], list) else []
            for block in blocks:
                if block.get("type") == "thinking" and issued.get(block.get("signature")) != block.get("thinking"):
                    return f"messages.{i}.content: Invalid `signature` in `thinking` block"
                if block.get("type") == "redacted_thinking" and block.get("data") not in issued:
                    return f"messages.{i}.content: Invalid `data` in `redacted_thinking` block"
        last = next((m for m in reversed(body.get("messages") or []) if m["role"] == "assistant"), None)
        content = last["content"] if last is not None and isinstance(last["content"], list) else []
        called = any(b.get("type") == "tool_use" for b in content)
        if thinking_on(body) and called and content[0].get("type") not in ("thinking", "redacted_thinking"):
            return (
                "messages: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is "
                "enabled, a final `assistant` message must start with a thinking block"
            )
        return None

    async def _stream(
        self, request: web.Request, model: str, blocks: list[dict[str, Any]], stop: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for sent, event in enumerate(_events(model, blocks, stop)):
            if self.state.stream_error_after is not None and sent >= self.state.stream_error_after:
                error = {"type": "error", "error": {"type": self.state.stream_error_type, "message": "Overloaded"}}
                await response.write(f"event: error\ndata: {json.dumps(error)}\n\n".encode())
                return response
            if self.state.stream_cut_after is not None and sent >= self.state.stream_cut_after:
                return response  # the connection ends without message_stop
            await response.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        await response.write_eof()
        return response


def _events(model: str, blocks: list[dict[str, Any]], stop: str) -> list[dict[str, Any]]:
    """Anthropic's event sequence for `blocks`: text in words, tool input JSON in two halves."""
    start: dict[str, Any] = {"id": "msg_01fake", "type": "message", "role": "assistant", "model": model}
    start |= {"content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(blocks):
        if block["type"] == "thinking":
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": ""}}
            )
            for word in _words(block["thinking"]):
                delta = {"type": "thinking_delta", "thinking": word}
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
            delta = {"type": "signature_delta", "signature": block["signature"]}
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        elif block["type"] == "redacted_thinking":
            events.append({"type": "content_block_start", "index": index, "content_block": block})
        elif block["type"] == "text":
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
            )
            for word in _words(block["text"]):
                events.append(
                    {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": word}}
                )
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            events.append({"type": "content_block_start", "index": index, "content_block": opening})
            arguments = json.dumps(block["input"])
            for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                delta = {"type": "input_json_delta", "partial_json": part}
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 8}}
    )
    events.append({"type": "message_stop"})
    return events


THINKING_MODES = ("enabled", "adaptive")


def thinking_on(body: dict[str, Any]) -> bool:
    return (body.get("thinking") or {}).get("type") in THINKING_MODES


def reply_for(body: dict[str, Any], text_before_tool: str | None = None) -> list[dict[str, Any]]:
    """Echo the last user message; ask for the first tool once, then report what it returned."""
    last = body["messages"][-1]
    content = last["content"]
    if isinstance(content, list):
        results = [b for b in content if b.get("type") == "tool_result"]
        if results:
            return [{"type": "text", "text": f"The tool said: {results[-1].get('content')}"}]
        content = " ".join(b.get("text", "") for b in content if b.get("type") == "text")
    tools = body.get("tools") or []
    answer_format = (body.get("output_config") or {}).get("format")
    if answer_format is not None:  # structured outputs: the JSON is the text
        return [{"type": "text", "text": json.dumps(sample(answer_format["schema"]))}]
    forced = body.get("tool_choice") or {}
    if forced.get("type") == "tool":
        tool = next(t for t in tools if t["name"] == forced["name"])
        return [{"type": "tool_use", "id": "toolu_01J", "name": tool["name"], "input": sample(tool["input_schema"])}]
    if tools:
        blocks = [{"type": "text", "text": text_before_tool}] if text_before_tool else []
        return [*blocks, {"type": "tool_use", "id": "toolu_01A", "name": tools[0]["name"], "input": {"city": "Paris"}}]
    return [{"type": "text", "text": f"echo: {content}"}]


def _invalid(body: dict[str, Any]) -> str | None:
    """What Anthropic would refuse in `body`, or None."""
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages") or []
    if not messages:
        return "messages: at least one message is required"
    answer_format = (body.get("output_config") or {}).get("format")
    if answer_format is not None:
        if not body["model"].startswith(STRUCTURED_OUTPUT_MODELS):
            return f"output_config.format: not supported by {body['model']}"
        if (problem := invalid_output_schema(answer_format.get("schema"))) is not None:
            return f"output_config.format.schema: {problem}"
    for tool in body.get("tools") or []:
        if tool.get("strict") is True:
            if not body["model"].startswith(STRUCTURED_OUTPUT_MODELS):
                return f"tools.{tool['name']}.strict: not supported by {body['model']}"
            if (problem := invalid_output_schema(tool.get("input_schema"))) is not None:
                return f"tools.{tool['name']}.input_schema: {problem}"
    previous_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        blocks = message["content"] if isinstance(message["content"], list) else []
        if message["content"] in ("", []):
            return f"messages.{i}: content must be non-empty"
        if problem := _invalid_media(blocks):
            return f"messages.{i}.content{problem}"
        answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        if not answered <= previous_tool_ids:
            return f"messages.{i}: tool_result without a matching tool_use in the previous message"
        if previous_tool_ids - answered:
            return f"messages.{i}: tool_use ids were found without tool_result blocks immediately after"
        previous_tool_ids = {b["id"] for b in blocks if b.get("type") == "tool_use"}
    return None


_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _invalid_media(blocks: list[dict[str, Any]]) -> str | None:
    """What Anthropic would refuse in image and document blocks (ImageBlockParam, DocumentBlockParam)."""
    for block in blocks:
        if block.get("type") not in ("image", "document"):
            continue
        source = block.get("source") or {}
        kind = source.get("type")
        if kind == "url":
            if not str(source.get("url", "")).startswith("https://"):
                return ".source.url: Only HTTPS URLs are supported"
        elif kind == "base64":
            allowed = _IMAGE_TYPES if block["type"] == "image" else ("application/pdf",)
            if source.get("media_type") not in allowed:
                return f".source.media_type: Input should be one of {allowed}"
            try:
                base64.b64decode(source.get("data", ""), validate=True)
            except ValueError:
                return ".source.data: invalid base64 data"
        elif not (kind == "text" and block["type"] == "document" and source.get("media_type") == "text/plain"):
            return ".source.type: Input tag does not match any of the expected tags"
    return None


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    kind = _ERROR_TYPES.get(status, "api_error")
    return web.json_response(
        {"type": "error", "error": {"type": kind, "message": message}}, status=status, headers=headers
    )


def invalid_output_schema(schema: Any) -> str | None:
    """What Anthropic's structured outputs would refuse in `schema` (its documented limits), or None."""
    if not isinstance(schema, dict):
        return "must be an object"

    def check(node: dict[str, Any], refs: tuple[str, ...]) -> str | None:
        unknown = set(node) - _OUTPUT_SCHEMA_KEYS
        if unknown:
            return f"unsupported keyword {sorted(unknown)[0]!r}"
        if (node.get("type") == "object" or "properties" in node) and node.get("additionalProperties") is not False:
            return "additionalProperties must be set to false for objects"
        if "format" in node and node["format"] not in _FORMATS:
            return f"unsupported format {node['format']!r}"
        if node.get("minItems", 0) not in (0, 1):
            return "minItems above 1 is not supported"
        if any(isinstance(v, dict | list) for v in node.get("enum", [])):
            return "enums of complex types are not supported"
        if "$ref" in node:
            ref = node["$ref"]
            if ref in refs:
                return "Too many recursive definitions in schema"
            target: Any = schema
            for token in (t for t in ref.removeprefix("#").split("/") if t):
                target = target.get(token) if isinstance(target, dict) else None
            if not isinstance(target, dict):
                return f"unresolvable $ref {ref!r}"
            if (problem := check(target, (*refs, ref))) is not None:
                return problem
        subs = [*node.get("properties", {}).values(), *node.get("anyOf", []), *node.get("allOf", [])]
        subs += [node["items"]] if isinstance(node.get("items"), dict) else []
        if any("$ref" in part for part in node.get("allOf", [])):
            return "allOf with $ref is not supported"
        return next((p for sub in subs if (p := check(sub, refs)) is not None), None)

    return check(schema, ())
