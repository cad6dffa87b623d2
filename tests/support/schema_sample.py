"""A small JSON value valid for a JSON Schema: what the loopback vendors answer structured-output
requests with, as a model under constrained decoding would.

Covers what Pydantic and the vendors' dialects produce: local `$ref`s, `anyOf`/`oneOf`/`allOf`,
`enum`/`const`, nullable types, objects (every property filled, so optional fields are exercised
too), arrays (one item), tuples (`prefixItems`), maps, string formats. Recursion stops at the
first optional way out (an empty list, a null)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_FORMATS = {"date-time": "2026-11-29T12:00:00Z", "date": "2026-11-29", "time": "12:00:00"}
_FORMATS |= {"uuid": "00000000-0000-4000-8000-000000000000"}
_FORMATS |= {"email": "a@example.com", "uri": "https://example.com/", "hostname": "example.com"}


def sample(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    root = schema if root is None else root
    if "$ref" in schema:
        target = _resolve(root, schema["$ref"])
        return sample({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, root, depth + 1)
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = {**_resolve_part(root, part), **merged}
        return sample(merged, root, depth)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = schema[key]
            if depth > 3:  # recursion: take the way out (null) when there is one
                options = sorted(options, key=lambda o: o.get("type") != "null")
            return sample(options[0], root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if depth > 3 and "null" in kind else next(t for t in kind if t != "null")
    if kind == "object" or "properties" in schema:
        return {name: sample(sub, root, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        if "prefixItems" in schema:
            return [sample(item, root, depth + 1) for item in schema["prefixItems"]]
        if depth > 3 or "items" not in schema:
            return []
        return [sample(schema["items"], root, depth + 1)]
    return {"string": _FORMATS.get(schema.get("format", ""), "text"), "integer": 1, "number": 1.5}.get(
        str(kind), {"boolean": True, "null": None}.get(str(kind), "text")
    )


def _resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    node: Any = root
    for token in (t for t in ref.removeprefix("#").split("/") if t):
        node = node[token]
    return node  # type: ignore[no-any-return]


def _resolve_part(root: Mapping[str, Any], part: Mapping[str, Any]) -> Mapping[str, Any]:
    return {**_resolve(root, part["$ref"]), **part} if "$ref" in part else part
