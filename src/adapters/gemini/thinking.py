"""Gemini's thinking, as the gateway speaks it (issue 13): `reasoning_effort` to
`generationConfig.thinkingConfig`, thought parts to `reasoning_content`, and thought signatures
kept across turns.

Rules (GT ThinkingConfig and Part; gd:thinking, gd:thought-signatures, gd:openai; NOTES-vendors.md
section 6):
- Gemini 3 takes `thinkingLevel`; Gemini 2.5 `thinkingBudget`. The mapping is the one Google's
  own OpenAI-compatible endpoint documents: 2.5 budgets 1024 (minimal, low), 8192 (medium),
  24576 (high), 0 for `none` (which 2.5 Pro cannot do: refused); Gemini 3 Pro levels LOW (none,
  minimal, low) and HIGH (medium, high), other Gemini 3 models MINIMAL (none, minimal), LOW,
  MEDIUM, HIGH: Gemini 3 cannot stop thinking, so `none` is its least. `xhigh` and `max` are
  beyond every Gemini model: refused. `includeThoughts` is on unless the effort is `none`, so the
  thought summaries come back as `reasoning_content`.
- Other models (2.0, 1.5, Gemma, ids this cannot place) refuse a `thinkingConfig`: refused here
  by name, unless the effort is `none`, which asks them nothing.
- Signatures: a `functionCall` part's `thoughtSignature` travels on its tool call, a text part's
  on the message, both as `extra_content.google.thought_signature` (the convention of Gemini's
  OpenAI-compatible endpoint), and go back on the same parts: Gemini 3 refuses a function call in
  history without the signature it issued. A turn's `reasoning_content` goes back as a
  `thought: true` part, as Google's SDK replays a chat's history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ideaforge_gateway.adapters.reasoning import ParameterConflict, requested_effort
from ideaforge_gateway.adapters.tool_arguments import tool_arguments
from ideaforge_gateway.domain.models import ChatMessage, ToolCall

_GEMINI = re.compile(r"^(?:models/)?gemini-(\d+)(?:\.(\d+))?")
_BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
_PRO_LEVELS = {"none": "LOW", "minimal": "LOW", "low": "LOW", "medium": "HIGH", "high": "HIGH"}
_LEVELS = {"none": "MINIMAL", "minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH"}


def thinking_config(model: str, extra: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `thinkingConfig` for the caller's `reasoning_effort` on `model`, or None when there
    is nothing to send. Raises `ParameterConflict` naming `reasoning_effort`."""
    effort = requested_effort(extra)
    if effort is None:
        return None
    found = _GEMINI.match(model)
    version = (int(found.group(1)), int(found.group(2) or 0)) if found else None
    pro = "-pro" in model
    if version is None or version < (2, 5):
        if effort == "none":
            return None
        raise ParameterConflict("reasoning_effort", f"needs a Gemini 2.5 or later model; {model!r} does not think")
    if effort not in _BUDGETS:
        raise ParameterConflict("reasoning_effort", "must be none, minimal, low, medium or high on Gemini")
    config: dict[str, Any] = {"includeThoughts": effort != "none"}
    if version >= (3, 0):
        config["thinkingLevel"] = (_PRO_LEVELS if pro else _LEVELS)[effort]
    elif effort == "none" and pro:
        raise ParameterConflict("reasoning_effort", f"cannot be none on {model!r}: Gemini 2.5 Pro always thinks")
    else:
        config["thinkingBudget"] = _BUDGETS[effort]
    return config


def signature_of(extra_content: Mapping[str, Any] | None) -> str | None:
    """The thought signature in an `extra_content` (`{"google": {"thought_signature": ...}}`)."""
    google = (extra_content or {}).get("google")
    signature = google.get("thought_signature") if isinstance(google, Mapping) else None
    return signature if isinstance(signature, str) else None


def signed(signature: str | None) -> dict[str, Any] | None:
    """`extra_content` carrying `signature`, or None without one."""
    return {"google": {"thought_signature": signature}} if signature else None


def model_parts(message: ChatMessage) -> list[dict[str, Any]]:
    """An assistant turn as Gemini's `model` parts: its thought summary, its text (with the
    text's signature), and its function calls (each with its signature, if Gemini gave one)."""
    parts: list[dict[str, Any]] = []
    if message.reasoning_content:
        parts.append({"text": message.reasoning_content, "thought": True})
    text_signature = signature_of(message.extra_content)
    if message.content or text_signature:
        parts.append({"text": message.content or ""} | _signature(text_signature))
    for call in message.tool_calls:
        parts.append(function_call_part(call))
    return parts


def function_call_part(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "args": tool_arguments(call)}
    return {"functionCall": function} | _signature(signature_of(call.extra_content))


def _signature(signature: str | None) -> dict[str, str]:
    return {"thoughtSignature": signature} if signature else {}
