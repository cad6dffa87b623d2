"""The rule for chat parameters, stated once: every chat-completions parameter of OpenAI's API
reference is forwarded as given to OpenAI-compatible upstreams, translated by a format that has
the vendor's equivalent, or refused by name; never dropped in silence (issue 13).

A format that translates some parameters calls `refuse_untranslated` with the ones it
translates: any other parameter the caller set to something other than its no-op value is
refused with `UnsupportedParameter`, which names it. The README's parameter table lists, per
wire format, what is forwarded, translated and refused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ideaforge_gateway.adapters.tool_arguments import UnmappableRequestError
from ideaforge_gateway.domain.models import ChatMessage

NO_OP_VALUES: Mapping[str, tuple[Any, ...]] = {
    "n": (1,),
    "logprobs": (False,),
    "parallel_tool_calls": (True,),
    "store": (False,),
    "logit_bias": ({},),
    "response_format": ({"type": "text"},),
    "stream_options": ({"include_usage": True}, {"include_usage": False}),
}
"""Values that ask nothing of a vendor (OpenAI's defaults), so any format may take them."""


class UnsupportedParameter(UnmappableRequestError):
    """A parameter the format has no equivalent for; `param` is its name under OpenAI's API."""

    def __init__(self, param: str) -> None:
        # The value is not shown: it may be the caller's content.
        super().__init__(f"the parameter {param!r} has no equivalent in this API; leave it out")
        self.param = param


def refuse_reasoning_in_history(messages: Sequence[ChatMessage]) -> None:
    """Raise `UnsupportedParameter` when history holds another vendor's reasoning text, which a
    format without `reasoning_content` could take only by dropping it (issue 13, case 6)."""
    if any(m.reasoning_content for m in messages):
        raise UnsupportedParameter("reasoning_content")


def refuse_message_extras(messages: Sequence[ChatMessage]) -> None:
    """Raise `UnsupportedParameter` naming `messages[i].FIELD` for the first field a message
    carries beyond the ones the domain types (`ChatMessage.extra`) whose value asks something:
    a format without a place for it could take it only by dropping it."""
    for i, message in enumerate(messages):
        for name, value in sorted((message.extra or {}).items()):
            if value not in (None, [], {}):
                raise UnsupportedParameter(f"messages[{i}].{name}")


def refuse_untranslated(extra: Mapping[str, Any], translated: Collection[str]) -> None:
    """Raise `UnsupportedParameter` for the first parameter in `extra` (sorted by name, so the
    answer is the same every time) that is neither in `translated`, nor None, nor a no-op value."""
    for name in sorted(extra):
        value = extra[name]
        if name in translated or value is None or value in NO_OP_VALUES.get(name, ()):
            continue
        raise UnsupportedParameter(name)
