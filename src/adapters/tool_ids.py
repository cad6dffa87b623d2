"""Tool-call ids the gateway mints when a vendor sends none (Gemini usually; any answer that
lacks one), unique across a conversation (issue 13).

OpenAI's clients match a `tool` message to its call by `tool_call_id` alone, so an id reused in a
later turn (`call_0` each time) would make a client or the next vendor pair a result with the
wrong call. A minted id is random, so no two turns share one. Formats never send it to a vendor
that matches results by name and order (Gemini; NOTES-vendors.md section 4): it only maps a
result back to its call's name and place.
"""

from __future__ import annotations

import secrets


def mint_tool_call_id() -> str:
    """A new id: `call_` and 24 hex digits (96 random bits), OpenAI's shape."""
    return f"call_{secrets.token_hex(12)}"
