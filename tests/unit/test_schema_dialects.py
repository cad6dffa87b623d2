"""Schemas in each vendor's dialect keep their shape: checked on real Pydantic-generated schemas
(Optional fields, nested models, enums, lists, literals, constraints, recursion, maps), by walking
the result for keywords the vendor refuses and by validating the same JSON values against the
caller's schema and the translated one (jsonschema-rs, a Draft 2020-12 validator)."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import jsonschema_rs
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from ideaforge_gateway.adapters.anthropic import schema_dialect as anthropic
from ideaforge_gateway.adapters.gemini import schema_dialect as gemini
from ideaforge_gateway.adapters.structured_output import ResponseFormat, UnsupportedSchema, is_recursive


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    zip: str | None = None


class Person(BaseModel):
    name: str = Field(description="full name", min_length=1)
    age: int = Field(ge=0, le=150)
    colour: Colour
    home: Address = Field(description="where they live")
    others: list[Address] = []
    nick: str | None = None
    kind: Literal["person"] = "person"


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


class Inventory(BaseModel):
    counts: dict[str, int]


ALICE = Person(name="Alice", age=30, colour=Colour.RED, home=Address(street="Main St"), others=[Address(street="B")])
VALUES = [
    ALICE.model_dump(mode="json"),
    Person(name="Bo", age=1, colour=Colour.BLUE, home=Address(street="x", zip="1"), nick="b").model_dump(mode="json"),
]
WRONG = [
    {**VALUES[0], "colour": "green"},  # not in the enum
    {**VALUES[0], "home": {"zip": "1"}},  # the nested model's required field missing
    {**VALUES[0], "others": [{"street": 3}]},  # wrong type inside a list of models
    {**VALUES[0], "nick": 5},  # neither string nor null
    {**VALUES[0], "kind": "robot"},  # not the literal
]


def nodes(schema: Any) -> Iterator[Mapping[str, Any]]:
    """Every schema node in `schema`, however nested."""
    if isinstance(schema, Mapping):
        yield schema
        for key, value in schema.items():
            if key in ("properties", "$defs", "definitions") and isinstance(value, Mapping):
                for sub in value.values():
                    yield from nodes(sub)
            elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
                yield from nodes(value)
            elif key in ("anyOf", "allOf", "prefixItems") and isinstance(value, list):
                for sub in value:
                    yield from nodes(sub)


def same_verdicts(original: Mapping[str, Any], translated: Mapping[str, Any], values: list[Any]) -> None:
    for value in values:
        assert jsonschema_rs.is_valid(dict(original), value) == jsonschema_rs.is_valid(dict(translated), value), value


# Gemini.
@pytest.mark.parametrize("schema", [Person.model_json_schema(), to_strict_json_schema(Person)], ids=["pydantic", "sdk"])
def test_gemini_keeps_the_shape_in_its_keywords(schema: dict[str, Any]) -> None:
    translated = gemini.json_schema(schema)

    for node in nodes(translated):
        assert set(node) <= gemini.KEYWORDS, node
        if "$ref" in node:
            assert all(k.startswith("$") for k in node), node  # Gemini: a $ref node carries $ keys only
    props = translated["properties"]
    if "$ref" in schema["properties"]["home"]:  # Pydantic's; the SDK's strict schema inlines it
        assert props["home"] == {"description": "where they live", "anyOf": [{"$ref": "#/$defs/Address"}]}
    assert props["nick"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["kind"]["enum"] == ["person"]
    assert translated["$defs"]["Colour"]["enum"] == ["red", "blue"]
    assert props["name"]["description"] == "full name (minLength: 1)"  # said, not dropped
    assert (props["age"]["minimum"], props["age"]["maximum"]) == (0, 150)  # Gemini has these
    assert set(props) == set(schema["properties"]) and translated["required"] == schema["required"]
    same_verdicts(schema, translated, VALUES + WRONG)


def test_gemini_keeps_recursion_and_maps() -> None:
    tree, inventory = Tree.model_json_schema(), Inventory.model_json_schema()

    translated = gemini.json_schema(tree)
    assert translated["$ref"] == "#/$defs/Tree"
    assert translated["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    deep = {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}
    same_verdicts(tree, translated, [deep, {"value": 1, "children": [{"value": "x"}]}])

    counts = gemini.json_schema(inventory)["properties"]["counts"]
    assert counts["additionalProperties"] == {"type": "integer"}
    same_verdicts(inventory, gemini.json_schema(inventory), [{"counts": {"a": 1}}, {"counts": {"a": "x"}}])


def test_gemini_says_other_keywords_its_own_way() -> None:
    schema = {
        "definitions": {"N": {"type": "integer", "exclusiveMinimum": 0}},
        "type": "object",
        "properties": {
            "n": {"$ref": "#/definitions/N"},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "both": {"allOf": [{"type": "string", "description": "a code"}], "title": "Both"},
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
        },
        "$schema": "https://json-schema.org/draft/2020-12/schema",
    }

    translated = gemini.json_schema(schema)

    assert translated["$defs"]["N"] == {"type": "integer", "description": "exclusiveMinimum: 0"}
    assert translated["properties"]["n"] == {"$ref": "#/$defs/N"}
    assert translated["properties"]["either"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert translated["properties"]["both"] == {"type": "string", "description": "a code", "title": "Both"}
    assert translated["properties"]["pair"]["prefixItems"] == [{"type": "string"}, {"type": "integer"}]
    assert "$schema" not in translated


def test_gemini_tools_take_the_json_schema_field_only_when_the_openapi_subset_would_lose_shape() -> None:
    assert gemini.needs_json_schema(Person.model_json_schema())  # $ref, const
    assert gemini.needs_json_schema(Inventory.model_json_schema())  # a map
    assert not gemini.needs_json_schema({"type": "object", "properties": {"city": {"type": "string"}}})
    assert not gemini.needs_json_schema({"type": "object", "additionalProperties": False, "properties": {}})


def test_gemini_generation_config() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    as_json = gemini.generation_config(ResponseFormat("json_object"), model="gemini-2.5-pro", has_tools=False)
    assert as_json == {"responseMimeType": "application/json"}
    fmt = ResponseFormat("json_schema", name="a", schema=schema, strict=True, description="An a.")
    config = gemini.generation_config(fmt, model="gemini-2.5-pro", has_tools=False)
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": schema | {"description": "An a."}}
    assert gemini.generation_config(None, model="gemini-2.5-pro", has_tools=True) == {}
    assert gemini.generation_config(fmt, model="gemini-3-pro-preview", has_tools=True)["responseJsonSchema"]
    with pytest.raises(UnsupportedSchema) as refused:
        gemini.generation_config(fmt, model="gemini-2.5-flash", has_tools=True)
    assert refused.value.param == "response_format" and "Gemini 3" in str(refused.value)


# Anthropic.
@pytest.mark.parametrize("schema", [Person.model_json_schema(), to_strict_json_schema(Person)], ids=["pydantic", "sdk"])
def test_anthropic_keeps_the_shape_in_its_subset(schema: dict[str, Any]) -> None:
    translated = anthropic.output_schema(schema)

    for node in nodes(translated):
        assert set(node) <= anthropic.KEYWORDS, node
        if node.get("type") == "object" or "properties" in node:
            assert node["additionalProperties"] is False, node
        if "$ref" in node:
            assert set(node) == {"$ref"}, node  # a $ref with siblings is inlined
    props = translated["properties"]
    assert props["home"]["description"] == "where they live" and props["home"]["required"][0] == "street"
    assert props["others"]["items"] == {"$ref": "#/$defs/Address"}
    assert props["age"] == {"type": "integer", "description": "maximum: 150; minimum: 0"}
    assert props["name"]["description"] == "full name (minLength: 1)"
    # Closing the objects refuses extra keys, which the caller's schema allowed; nothing else changes.
    same_verdicts(schema, translated, VALUES + WRONG)
    assert not jsonschema_rs.is_valid(translated, {**VALUES[0], "extra": 1})
    assert not jsonschema_rs.is_valid(translated, {**VALUES[0], "age": "old"})


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        (Tree.model_json_schema(), "recursive"),
        (Inventory.model_json_schema(), "maps"),
        ({"type": "object", "properties": {"p": {"enum": [{"a": 1}]}}}, "enums"),
        ({"type": "object", "properties": {"p": {"$ref": "https://example.com/s.json"}}}, "external"),
    ],
)
def test_anthropic_refuses_by_name_what_its_subset_cannot_say(schema: dict[str, Any], why: str) -> None:
    with pytest.raises(UnsupportedSchema) as refused:
        anthropic.output_schema(schema)
    assert refused.value.param == "response_format" and why in str(refused.value)


def test_anthropic_inlines_refs_inside_all_of_and_keeps_supported_formats() -> None:
    schema = {
        "$defs": {"Id": {"type": "string", "format": "uuid"}},
        "type": "object",
        "properties": {
            "id": {"allOf": [{"$ref": "#/$defs/Id"}]},
            "at": {"type": "string", "format": "date-time"},
            "ip": {"type": "string", "format": "ipv4"},
            "hex": {"type": "string", "format": "color-hex"},
            "many": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        },
    }

    props = anthropic.output_schema(schema)["properties"]

    assert props["id"] == {"allOf": [{"type": "string", "format": "uuid"}]}
    assert props["at"]["format"] == "date-time" and props["ip"]["format"] == "ipv4"
    assert props["hex"] == {"type": "string", "description": 'format: "color-hex"'}
    assert props["many"] == {"type": "array", "items": {"type": "string"}, "description": "minItems: 2"}


def test_recursion_is_found_through_references_only() -> None:
    assert is_recursive(Tree.model_json_schema())
    assert not is_recursive(Person.model_json_schema())  # Address is used twice, never inside itself
