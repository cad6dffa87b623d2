"""`reasoning_effort` as the formats without it (Anthropic, Gemini) read it (issue 13).

OpenAI's values (NOTES-vendors.md section 6): `none`, `minimal`, `low`, `medium`, `high`,
`xhigh`, `max`. Each format maps them to its vendor's thinking controls, and refuses what the
model cannot do with a `ParameterConflict` that names the parameter, never by sending what the
vendor would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


class ParameterConflict(UnmappableRequestError):
    """`param` has a value this vendor or model cannot take (as set, or with another parameter);
    `why` says what would work. Another provider may take it, so the chain skips this one."""

    def __init__(self, param: str, why: str) -> None:
        super().__init__(f"the parameter {param!r} {why}")
        self.param = param


def requested_effort(extra: Mapping[str, Any]) -> str | None:
    """The `reasoning_effort` the caller set, or None; `ParameterConflict` for a value OpenAI has not."""
    effort = extra.get("reasoning_effort")
    if effort is None:
        return None
    if effort not in EFFORTS:
        raise ParameterConflict("reasoning_effort", f"must be one of {', '.join(EFFORTS)}")
    return str(effort)


def length_limit(max_tokens: int | None, extra: Mapping[str, Any]) -> tuple[str, int] | None:
    """The caller's output cap and the name it was sent under, or None; `max_tokens` first, as
    the formats read it. Both count reasoning tokens too, as Anthropic's `max_tokens` does."""
    if max_tokens:
        return "max_tokens", max_tokens
    if extra.get("max_completion_tokens"):
        return "max_completion_tokens", int(extra["max_completion_tokens"])
    return None
