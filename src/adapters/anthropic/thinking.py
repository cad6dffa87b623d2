"""Anthropic's extended thinking, as the gateway speaks it (issue 13): `reasoning_effort` to
`thinking` (and `output_config.effort`), thinking blocks to `reasoning_content` and
`thinking_blocks`, and signed blocks sent back in history unchanged.

Rules (cd:build-with-claude/extended-thinking, adaptive-thinking, effort; NOTES-vendors.md
sections 2, 4 and 6):
- Models before Claude 3.7 do not think: any effort but `none` is refused by name.
- Claude 3.7 to 4.6 take `{"type": "enabled", "budget_tokens": B}` with 1024 <= B < max_tokens;
  the budget counts toward `max_tokens`, as reasoning tokens count toward OpenAI's
  `max_completion_tokens`. Budgets per effort are LiteLLM's (1024, 1024, 2048, 4096); without a
  caller's cap, `max_tokens` is the budget plus the usual default, so the answer keeps its room.
  `xhigh` and `max` are efforts of the adaptive models only.
- Claude 4.7 and later (and 5) refuse budgets: `{"type": "adaptive"}` with
  `output_config.effort` (`minimal` is read as `low`, the least there is).
- `none` is `{"type": "disabled"}`.
- With thinking on, `temperature` (other than 1) and `top_k` are refused, `top_p` must be 0.95
  to 1, and manual thinking cannot force a tool (`tool_choice` `required` or a named function).
- In history, an assistant turn's `thinking_blocks` go first in its content, as Anthropic
  wrote them; `reasoning_content` without them has no signature and cannot be sent: refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ideaforge_gateway.adapters.reasoning import ParameterConflict, length_limit, requested_effort
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest

MIN_BUDGET = 1024
_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}
_ADAPTIVE_EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "max"}
_VERSION = re.compile(r"^claude-(?:[a-z]+-)?(\d+)(?:-(\d)(?!\d))?")
_BLOCK_KEYS = {"thinking": ("thinking", "signature"), "redacted_thinking": ("data",)}


def model_version(model: str) -> tuple[int, int] | None:
    """`claude-sonnet-4-5-20250929` -> (4, 5), `claude-3-7-sonnet-...` -> (3, 7),
    `claude-opus-4-20250514` -> (4, 0); None for an id of another shape."""
    found = _VERSION.match(model)
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2) or 0)


def thinking_to_wire(request: ChatRequest, body: dict[str, Any], *, default_max_tokens: int) -> None:
    """Add the thinking controls `reasoning_effort` asks for to `body` (built without them).

    Raises `ParameterConflict` naming the parameter the model cannot take with it."""
    effort = requested_effort(request.options.extra)
    if effort is None:
        return
    version = model_version(request.model)
    if effort == "none":
        if version is None or version >= (3, 7):
            body["thinking"] = {"type": "disabled"}
        return
    if version is not None and version < (3, 7):
        raise ParameterConflict("reasoning_effort", f"needs a thinking model; {request.model!r} does not think")
    _check_sampling(request)
    if version is not None and version >= (4, 7):
        body["thinking"] = {"type": "adaptive"}
        body["output_config"] = dict(body.get("output_config") or {}) | {"effort": _ADAPTIVE_EFFORTS[effort]}
        return
    if effort not in _BUDGETS:
        raise ParameterConflict("reasoning_effort", f"{effort!r} is only for Claude 4.7 and later; use high")
    if request.options.tool_choice == "required" or isinstance(request.options.tool_choice, Mapping):
        raise ParameterConflict("tool_choice", "cannot force a tool while thinking: use auto or none")
    budget = _BUDGETS[effort]
    limit = length_limit(request.options.max_tokens, request.options.extra)
    if limit is None:
        body["max_tokens"] = budget + default_max_tokens
    else:
        name, cap = limit
        if cap <= MIN_BUDGET:
            raise ParameterConflict(name, f"must be above {MIN_BUDGET} with reasoning_effort: it includes the thinking")
        budget = min(budget, cap - 1)
        body["max_tokens"] = cap
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _check_sampling(request: ChatRequest) -> None:
    options = request.options
    if options.temperature is not None and options.temperature != 1:
        raise ParameterConflict("temperature", "cannot be set with reasoning_effort: thinking needs temperature 1")
    if options.extra.get("top_k") is not None:
        raise ParameterConflict("top_k", "cannot be set with reasoning_effort")
    top_p = options.extra.get("top_p")
    if top_p is not None and not 0.95 <= top_p <= 1:
        raise ParameterConflict("top_p", "must be 0.95 to 1 with reasoning_effort")


# History.
def history_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    """An assistant turn's thinking blocks, first in its content, exactly as Anthropic sent them.

    Raises `ParameterConflict` (naming `thinking_blocks` or `reasoning_content`) for a
    block of another shape, or reasoning text that comes without its signed blocks."""
    blocks = [_block(b) for b in message.thinking_blocks]
    if message.reasoning_content and not blocks:
        raise ParameterConflict(
            "reasoning_content",
            "needs the turn's signed thinking_blocks (as Anthropic answered them) to go back to Anthropic",
        )
    return blocks


def _block(block: Mapping[str, Any]) -> dict[str, Any]:
    keys = _BLOCK_KEYS.get(str(block.get("type")))
    if keys is None or not all(isinstance(block.get(k), str) for k in keys):
        raise ParameterConflict(
            "thinking_blocks", "holds a block other than thinking {thinking, signature} or redacted_thinking {data}"
        )
    return {"type": block["type"]} | {k: block[k] for k in keys}


# Answers.
def answer_thinking(blocks: Sequence[Any]) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    """The reasoning text (thinking blocks joined) and every thinking or redacted block, as sent."""
    kept = tuple(_wire_block(b) for b in blocks if b.type in _BLOCK_KEYS)
    texts = [b["thinking"] for b in kept if b["type"] == "thinking" and b.get("thinking")]
    return ("".join(texts) if texts else None), kept


def _wire_block(block: Any) -> dict[str, Any]:
    return {"type": block.type} | {k: getattr(block, k) or "" for k in _BLOCK_KEYS[block.type]}


class ThinkingStream:
    """A streamed answer's thinking blocks: `thinking_delta` text goes out as it comes (as
    `reasoning_content`), and each block goes out whole at its `content_block_stop`, with the
    `signature` that `signature_delta` gave (a client must send that block back)."""

    def __init__(self) -> None:
        self._open: dict[int, dict[str, str]] = {}
        """Content block index -> the thinking block so far."""

    def start(self, index: int, block: Any) -> bool:
        """Take a `content_block_start`; whether it opened a thinking block."""
        if block.type not in _BLOCK_KEYS:
            return False
        self._open[index] = _wire_block(block)
        return True

    def delta(self, index: int, delta: Any) -> str | None:
        """Take a `content_block_delta`; the reasoning text it adds, if any."""
        block = self._open.get(index)
        if block is None:
            return None
        if delta.type == "thinking_delta" and delta.thinking:
            block["thinking"] += delta.thinking
            return str(delta.thinking)
        if delta.type == "signature_delta" and delta.signature:
            block["signature"] += delta.signature
        return None

    def stop(self, index: int) -> dict[str, str] | None:
        """Take a `content_block_stop`; the whole block when it closed a thinking block."""
        return self._open.pop(index, None)
