"""JSON Schema in the dialect of Anthropic's structured outputs (`output_config.format`).

Source: cd:build-with-claude/structured-outputs, "JSON Schema limitations" and "How SDK
transformation works" (NOTES-vendors §3). Supported: the basic types, `enum` of primitives,
`const`, `anyOf`, `allOf` (not with `$ref`), local `$ref`/`$defs`/`definitions`, `default`,
`required`, `additionalProperties: false` (required on every object), a list of string
formats, `minItems` 0 or 1, `pattern`. Refused by Anthropic with a 400: recursion, numeric and
string-length bounds, other array bounds, `additionalProperties` other than false.

The translation follows the documented SDK transformation, keeping the schema's shape:
- every object gets `additionalProperties: false`;
- a `$ref` with siblings, or inside `allOf`, is replaced by the schema it names (the schema is
  not recursive, so this ends); `oneOf` is `anyOf`;
- an unsupported constraint (`minimum`, `maxLength`, a `format` off the list, `minItems` above 1,
  ...) is removed and written into the node's description, so the model still reads it;
- titles and other annotations that ask nothing of the answer are left out.
What cannot be met raises `UnsupportedSchema` (the caller decides between a 400 and Anthropic's
forced-tool technique): a recursive schema, a map (`additionalProperties` true or a schema), an
`enum` holding objects or arrays, an external `$ref`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ideaforge_gateway.adapters.structured_output import (
    PARAM,
    UnsupportedSchema,
    is_recursive,
    local_ref,
    note,
    with_note,
)

KEYWORDS = frozenset(
    {
        "type", "enum", "const", "anyOf", "allOf", "$ref", "$defs", "definitions", "default", "required",
        "additionalProperties", "properties", "items", "description", "format", "minItems", "pattern",
    }
)  # fmt: skip
FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"})
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$anchor", "$comment", "title", "examples", "example", "readOnly", "writeOnly", "deprecated"}
)
_ANNOTATIONS |= {"discriminator"}


def output_schema(schema: Mapping[str, Any], *, param: str = PARAM) -> dict[str, Any]:
    """`schema` as `output_config.format.schema` (see the module docstring)."""
    if is_recursive(schema, param=param):
        raise UnsupportedSchema("Anthropic's structured outputs refuse recursive schemas", param=param)
    return _node(schema, schema, param)


def _node(node: Mapping[str, Any], root: Mapping[str, Any], param: str) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is not None and any(not k.startswith("$") for k in node):
        # Anthropic's subset has no `$ref` beside other keywords: the named schema stands in.
        merged = {k: v for k, v in local_ref(root, ref, param=param).items() if k not in node} | dict(node)
        return _node({k: v for k, v in merged.items() if k != "$ref"}, root, param)
    out: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in node.items():
        if key in ("$defs", "definitions", "properties") and isinstance(value, Mapping):
            out[key] = {k: _node(v, root, param) for k, v in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            out[key] = _node(value, root, param)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            parts = [_inlined(v, root, param) if key == "allOf" else v for v in value]
            target = "allOf" if key == "allOf" else "anyOf"
            if target in out:
                raise UnsupportedSchema("a schema node has both anyOf and oneOf", param=param)
            out[target] = [_node(v, root, param) for v in parts]
        elif key == "enum" and isinstance(value, list):
            if any(isinstance(v, dict | list) for v in value):
                raise UnsupportedSchema("Anthropic's enums hold strings, numbers, booleans and null", param=param)
            out[key] = value
        elif key == "additionalProperties":
            if value is not False:
                raise UnsupportedSchema(
                    "Anthropic's structured outputs take no maps (additionalProperties must be false)", param=param
                )
        elif (key == "format" and value not in FORMATS) or (key == "minItems" and value not in (0, 1)):
            notes.append(note(key, value))
        elif key in KEYWORDS:
            out[key] = value
        elif key not in _ANNOTATIONS:
            notes.append(note(key, value))
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
    return with_note(out, notes)


def _inlined(node: object, root: Mapping[str, Any], param: str) -> Mapping[str, Any]:
    """An `allOf` part, with its `$ref` replaced by what it names (Anthropic has no `$ref` there)."""
    if not isinstance(node, Mapping):
        raise UnsupportedSchema("an allOf part is not a schema", param=param)
    ref = node.get("$ref")
    if ref is None:
        return node
    return {k: v for k, v in local_ref(root, ref, param=param).items()} | {k: v for k, v in node.items() if k != "$ref"}
