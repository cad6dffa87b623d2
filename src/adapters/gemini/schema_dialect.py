"""JSON Schema in Gemini's JSON Schema dialect (`responseJsonSchema`, `parametersJsonSchema`), and
`response_format` as Gemini's `generationConfig` fields.

Source: GT `GenerateContentConfig.response_json_schema` (gg:types.py, NOTES-vendors §3). Gemini
takes these keywords: `$id $defs $ref $anchor type format title description enum items
prefixItems minItems maxItems minimum maximum anyOf properties additionalProperties required
propertyOrdering`; a `$ref` node may carry only `$` keys. The translation keeps the schema's
shape (references, unions, nullable types, enums, maps, nesting) and says the rest another way:
- `oneOf` is `anyOf`, `const` is a one-value `enum`, a one-element `allOf` is merged into its node,
  `definitions` are `$defs`;
- a `$ref` with siblings (Pydantic puts a field's `description` there) becomes
  `{"anyOf": [{"$ref": ...}], ...siblings}`, the same schema with the `$ref` alone in its node;
- a constraint Gemini has no keyword for (`minLength`, `pattern`, `exclusiveMinimum`, ...) moves
  into the node's description, as Anthropic's SDKs document for their vendor, so the model
  still reads it (the caller's own validation, e.g. the `openai` SDK's `parse`, still enforces it);
- annotations that ask nothing of the answer (`$schema`, `default`, `examples`, ...) are left out.
Raises `UnsupportedSchema` for what cannot be said (an external `$ref`, `allOf` of clashing parts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ideaforge_gateway.adapters.structured_output import (
    PARAM,
    ResponseFormat,
    UnsupportedSchema,
    note,
    with_note,
)
from ideaforge_gateway.domain.models import ToolSpec

KEYWORDS = frozenset(
    {
        "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items",
        "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "properties",
        "additionalProperties", "required", "propertyOrdering",
    }
)  # fmt: skip
ANNOTATIONS = frozenset(
    {"$schema", "$comment", "default", "examples", "example", "readOnly", "writeOnly", "deprecated", "discriminator"}
)
_OPENAPI_UNSAYABLE = frozenset({"$ref", "$defs", "definitions", "const", "oneOf", "allOf", "prefixItems"})
_GEMINI_VERSION = re.compile(r"(?:^|/)gemini-(\d+)")


def json_schema(schema: Mapping[str, Any], *, param: str = PARAM) -> dict[str, Any]:
    """`schema` in Gemini's JSON Schema dialect (see the module docstring)."""
    return _node(schema, param)


def needs_json_schema(schema: Mapping[str, Any]) -> bool:
    """Whether a tool's parameters need `parametersJsonSchema`: the OpenAPI subset of
    `parameters` has no references, `const`, `oneOf`/`allOf`, tuples, maps, or objects without
    properties below the top, so sending such a schema there would change its shape."""

    def visit(node: Mapping[str, Any], top: bool) -> bool:
        if _OPENAPI_UNSAYABLE & node.keys():
            return True
        extra = node.get("additionalProperties")
        if extra is True or isinstance(extra, Mapping):
            return True
        if not top and node.get("type") == "object" and not node.get("properties"):
            return True
        children = [*(node.get("properties") or {}).values(), node.get("items"), *(node.get("anyOf") or [])]
        return any(visit(c, False) for c in children if isinstance(c, Mapping))

    return visit(schema, True)


def generation_config(fmt: ResponseFormat | None, *, model: str, has_tools: bool) -> dict[str, Any]:
    """The `generationConfig` fields for `response_format`: `responseMimeType` for JSON mode, plus
    `responseJsonSchema` for a schema, which Gemini always enforces (so `strict` is honoured).
    The schema's `name` is OpenAI's label for it; its `description` becomes the root's, if it has
    none. Raises `UnsupportedSchema` with tools on models before Gemini 3, which refuse JSON
    output with function calling."""
    if fmt is None:
        return {}
    version = _GEMINI_VERSION.search(model)
    if has_tools and version is not None and int(version.group(1)) < 3:
        raise UnsupportedSchema(f"JSON output with tools needs Gemini 3 or later, not {model[:80]!r}")
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    if fmt.kind == "json_schema":
        schema = json_schema(fmt.schema)
        if fmt.description and not schema.get("description"):
            schema["description"] = fmt.description
        config["responseJsonSchema"] = schema
    return config


def _node(node: Mapping[str, Any], param: str) -> dict[str, Any]:
    node = _merged_all_of(node, param)
    out: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in node.items():
        if key == "$ref":
            out[key] = _ref(value)
        elif key in ("$defs", "definitions", "properties") and isinstance(value, Mapping):
            out["$defs" if key == "definitions" else key] = {k: _node(v, param) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _node(value, param)
        elif key == "items" and isinstance(value, list):  # draft-4 tuples
            out["prefixItems"] = [_node(v, param) for v in value]
        elif key in ("anyOf", "oneOf", "prefixItems") and isinstance(value, list):
            if key != "prefixItems" and "anyOf" in out:
                raise UnsupportedSchema("a schema node has both anyOf and oneOf", param=param)
            out["prefixItems" if key == "prefixItems" else "anyOf"] = [_node(v, param) for v in value]
        elif key == "const":
            out.setdefault("enum", [value])
        elif key in KEYWORDS:
            out[key] = value
        elif key not in ANNOTATIONS:
            notes.append(note(key, value))
    out = with_note(out, notes)
    siblings = {k: v for k, v in out.items() if not k.startswith("$")}
    if "$ref" in out and siblings:
        if "anyOf" in siblings:
            raise UnsupportedSchema("a schema node has both $ref and anyOf", param=param)
        out = {k: v for k, v in out.items() if k.startswith("$") and k != "$ref"}
        out |= siblings | {"anyOf": [{"$ref": _ref(node["$ref"])}]}
    return out


def _merged_all_of(node: Mapping[str, Any], param: str) -> Mapping[str, Any]:
    parts = node.get("allOf")
    if not isinstance(parts, list):
        return node
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        clash = (part.keys() & merged.keys()) - {"description", "title"}
        if clash:
            raise UnsupportedSchema(f"allOf parts that both set {sorted(clash)[0]!r}", param=param)
        merged = dict(part) | merged
    return merged


def _ref(ref: object) -> object:
    return ref.replace("#/definitions/", "#/$defs/", 1) if isinstance(ref, str) else ref


def refuse_strict_tools(tools: Sequence[ToolSpec]) -> None:
    """Raise `UnsupportedSchema` naming `tools` for a `strict` tool: Gemini's function
    declarations have no switch that makes the arguments follow the schema exactly (GT
    FunctionDeclaration), and loosening the caller's guarantee in silence is not an option."""
    strict = next((t.name for t in tools if t.strict), None)
    if strict is not None:
        raise UnsupportedSchema(f"Gemini has no strict function calling (tool {strict[:64]!r})", param="tools")
