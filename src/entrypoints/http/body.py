"""Request bodies parsed by the route itself, documented in OpenAPI as if FastAPI had parsed them.

FastAPI decodes a body field with `json.loads` and then validates the dict; a route on every
request's path validates the bytes in one pass instead (`model_validate_json`), with the same
422 answer for what does not fit.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

_REF = "#/components/schemas/{model}"
_documented: dict[str, type[BaseModel]] = {}


def parse_body(model: type[M], raw: bytes) -> M:
    """`raw` as `model`, or the `RequestValidationError` FastAPI would raise (locations under "body")."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]
        raise RequestValidationError(errors) from None


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI `requestBody` of a route that parses `model` itself; `document_bodies` adds
    the schemas it refers to."""
    _documented[model.__name__] = model
    ref = {"$ref": _REF.format(model=model.__name__)}
    return {"required": True, "content": {"application/json": {"schema": ref}}}


def document_bodies(app: FastAPI) -> None:
    """Make `app.openapi()` include the schemas of the bodies routes parse themselves."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached after the first call
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in _documented.items():
            if name not in components:
                body = model.model_json_schema(ref_template=_REF)
                components.update(body.pop("$defs", {}))
                components[name] = body
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
