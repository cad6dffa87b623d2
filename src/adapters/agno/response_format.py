"""Agno's `response_format` as OpenAI's, for the options every provider's format reads.

Agno hands a model that declares `supports_native_structured_outputs` the output schema itself
(a Pydantic class), and `{"type": "json_object"}` or a `json_schema` dict in JSON mode or for
its own summaries (NOTES-agno §1). Classes become OpenAI's `json_schema` exactly as Agno's
`OpenAIChat` sends them (Agno's own `get_response_schema_for_provider(cls, "openai")`, name the
class name, `strict` as the model says); dicts go as given. Each wire format then forwards,
translates or refuses it (`adapters/structured_output.py`), so the agent gets the vendor's
native structured outputs and parses the JSON text of the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agno.utils.models.schema_utils import get_response_schema_for_provider
from pydantic import BaseModel


def response_format_to_openai(response_format: object, *, strict: bool) -> dict[str, Any] | None:
    """OpenAI's `response_format` for what Agno passed, or None for nothing."""
    if response_format is None:
        return None
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        schema = get_response_schema_for_provider(response_format, "openai")
        return {
            "type": "json_schema",
            "json_schema": {"name": response_format.__name__, "schema": schema, "strict": strict},
        }
    if isinstance(response_format, Mapping):
        return dict(response_format)
    raise TypeError(f"response_format must be a Pydantic model class or a dict, not {type(response_format).__name__}")
