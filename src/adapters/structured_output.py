"""OpenAI's `response_format`, read once for the formats that translate it (Anthropic, Gemini),
and the JSON Schema walking their schema dialects share.

OpenAI's shapes (`oa:types/shared_params/response_format_*.py`): `{"type": "text"}` (a no-op),
`{"type": "json_object"}`, and `{"type": "json_schema", "json_schema": {"name", "description",
"schema", "strict"}}`. Anything else is refused by name (`response_format`), never guessed at.
Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ideaforge_gateway.adapters.parameters import UnsupportedParameter

PARAM = "response_format"


class UnsupportedSchema(UnsupportedParameter):
    """A schema (`response_format`'s, or a tool's under `tools`) or a `response_format` this
    vendor cannot be asked for as given; the message names the parameter and says why."""

    def __init__(self, why: str, *, param: str = PARAM) -> None:
        super().__init__(param)
        self.args = (f"the parameter {param!r} cannot be honoured: {why}",)


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """What the caller asked the answer to be: any JSON object, or JSON valid for `schema`."""

    kind: Literal["json_object", "json_schema"]
    name: str = "response"
    schema: Mapping[str, Any] = field(default_factory=dict)
    strict: bool = False
    description: str | None = None


def response_format(extra: Mapping[str, Any]) -> ResponseFormat | None:
    """The caller's `response_format`, or None for none (absent, null or `text`).

    Raises `UnsupportedSchema` for a shape OpenAI's API does not define.
    """
    value = extra.get(PARAM)
    if value is None or value == {"type": "text"}:
        return None
    if not isinstance(value, Mapping):
        raise UnsupportedSchema("it is not an object")
    if value.get("type") == "json_object":
        return ResponseFormat("json_object")
    spec = value.get("json_schema")
    if value.get("type") != "json_schema" or not isinstance(spec, Mapping):
        raise UnsupportedSchema("expected type text, json_object, or json_schema with a json_schema object")
    schema = spec.get("schema", {})
    name = spec.get("name")
    if not isinstance(schema, Mapping) or not isinstance(name, str) or not name:
        raise UnsupportedSchema("json_schema needs a name and an object schema")
    description = spec.get("description")
    return ResponseFormat(
        "json_schema",
        name=name,
        schema=schema,
        strict=spec.get("strict") is True,
        description=description if isinstance(description, str) else None,
    )


# Walking schemas.
def local_ref(root: Mapping[str, Any], ref: object, *, param: str = PARAM) -> Mapping[str, Any]:
    """The schema a local `$ref` (`#/$defs/X`, `#/definitions/X`, `#`) points at in `root`.

    Raises `UnsupportedSchema` for an external or dangling reference: no vendor
    fetches one, and guessing would change the schema's shape.
    """
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise UnsupportedSchema(f"the schema has an external $ref ({str(ref)[:80]!r})", param=param)
    node: Any = root
    for token in (t for t in ref[1:].split("/") if t):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node.get(token) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        raise UnsupportedSchema(f"the schema's $ref {ref[:80]!r} points at nothing", param=param)
    return node


def subschemas(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The schemas directly inside `node` (properties, items, combinators, definitions, ...)."""
    for key in ("properties", "$defs", "definitions", "patternProperties"):
        value = node.get(key)
        if isinstance(value, Mapping):
            yield from (v for v in value.values() if isinstance(v, Mapping))
    for key in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
        value = node.get(key)
        if isinstance(value, Mapping):
            yield value
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        value = node.get(key)
        if isinstance(value, list):
            yield from (v for v in value if isinstance(v, Mapping))


def is_recursive(root: Mapping[str, Any], *, param: str = PARAM) -> bool:
    """Whether following `$ref`s from the root can come back to a schema on the way (a tree,
    a linked list): vendors that inline or refuse recursion must know before anything is sent."""

    def visit(node: Mapping[str, Any], path: tuple[str, ...]) -> bool:
        ref = node.get("$ref")
        if ref is not None:
            if ref in path:
                return True
            if visit(local_ref(root, ref, param=param), (*path, ref)):
                return True
        return any(visit(sub, path) for sub in subschemas(node))

    # Definitions are visited through the references to them, not on their own.
    top = {k: v for k, v in root.items() if k not in ("$defs", "definitions")}
    return visit(top, ())


def with_note(node: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """`node` with `notes` appended to its description: how a constraint a vendor cannot enforce
    still reaches the model (the Anthropic SDKs' documented transformation)."""
    out = dict(node)
    if notes:
        text = "; ".join(notes)
        out["description"] = f"{out['description']} ({text})" if out.get("description") else text
    return out


def note(key: str, value: object) -> str:
    return f"{key}: {json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
