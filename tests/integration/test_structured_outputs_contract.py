"""Structured outputs and tool schemas, per wire format, over real HTTP to loopback vendors that
refuse what each vendor refuses (Anthropic's structured-output subset, Gemini's JSON Schema
keywords): Pydantic-generated schemas reach each vendor in its dialect, and the answer is JSON the
caller's model parses, whole and streamed."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from pydantic import BaseModel

from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import UnsupportedParameterError
from ideaforge_gateway.domain.models import ToolSpec
from tests.integration.test_wire_format_contract import Case, ask, case, collect, fake, provider

__all__ = ["case", "fake"]  # the fixtures, shared with the contract suite


class Seat(enum.Enum):
    AISLE = "aisle"
    WINDOW = "window"


class Passenger(BaseModel):
    name: str
    seat: Seat
    meal: str | None = None


class Booking(BaseModel):
    city: str
    passengers: list[Passenger]
    lead: Passenger
    nights: int | None = None


def as_response_format(model: type[BaseModel], *, strict: bool = True) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": schema, "strict": strict}}


def vendor_schema(case: Case, body: dict[str, Any]) -> dict[str, Any]:
    """Where each vendor's body carries the response schema."""
    if case.name == "openai_compat":
        return body["response_format"]["json_schema"]["schema"]  # type: ignore[no-any-return]
    if case.name == "anthropic":
        assert body["output_config"]["format"]["type"] == "json_schema"
        return body["output_config"]["format"]["schema"]  # type: ignore[no-any-return]
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    return body["generationConfig"]["responseJsonSchema"]  # type: ignore[no-any-return]


async def test_a_pydantic_schema_reaches_each_vendor_in_its_dialect(case: Case, fake: Any, http: HttpTransport) -> None:
    request = ask(case, "book Oslo", extra={"response_format": as_response_format(Booking)})

    response = await provider(case, fake, http).chat(request)

    assert isinstance(Booking.model_validate_json(response.content or ""), Booking)
    assert response.finish_reason == "stop" and not response.tool_calls
    schema = vendor_schema(case, case.received(fake))
    assert set(schema["properties"]) == {"city", "passengers", "lead", "nights"}
    if case.name == "openai_compat":
        assert schema == Booking.model_json_schema()  # forwarded as given
    else:  # the vendor's dialect, which its stand-in accepted
        assert schema != Booking.model_json_schema()


async def test_a_structured_answer_streams_as_text(case: Case, fake: Any, http: HttpTransport) -> None:
    request = ask(case, "book Oslo", extra={"response_format": as_response_format(Booking)})

    deltas = await collect(provider(case, fake, http), request)

    assert isinstance(Booking.model_validate_json("".join(d.content or "" for d in deltas)), Booking)
    assert [d.finish_reason for d in deltas if d.finish_reason] == ["stop"]
    assert not any(d.tool_calls for d in deltas)


async def test_json_mode_on_each_vendor(case: Case, fake: Any, http: HttpTransport) -> None:
    request = ask(case, "as json", extra={"response_format": {"type": "json_object"}})

    whole = await provider(case, fake, http).chat(request)
    streamed = await collect(provider(case, fake, http), request)

    assert isinstance(json.loads(whole.content or ""), dict) and whole.finish_reason == "stop"
    assert json.loads("".join(d.content or "" for d in streamed)) == json.loads(whole.content or "")


async def test_tool_schemas_from_pydantic_keep_their_shape(case: Case, fake: Any, http: HttpTransport) -> None:
    tool = ToolSpec("book", "Book a trip", Booking.model_json_schema())

    response = await provider(case, fake, http).chat(ask(case, "book it", tools=[tool]))

    assert response.finish_reason == "tool_calls" and response.tool_calls[0].name == "book"
    body = case.received(fake)
    if case.name == "openai_compat":
        assert body["tools"][0]["function"]["parameters"] == Booking.model_json_schema()
    elif case.name == "anthropic":
        assert body["tools"][0]["input_schema"] == Booking.model_json_schema()
    else:
        # References and enums have no place in the OpenAPI subset of `parameters`.
        (declaration,) = body["tools"][0]["functionDeclarations"]
        assert "parameters" not in declaration
        schema = declaration["parametersJsonSchema"]
        assert schema["$defs"]["Seat"]["enum"] == ["aisle", "window"]
        assert schema["properties"]["passengers"]["items"] == {"$ref": "#/$defs/Passenger"}


async def test_strict_tools_are_forwarded_translated_or_refused_by_name(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    tool = ToolSpec("book", "Book a trip", Booking.model_json_schema(), strict=True)
    request = ask(case, "book it", tools=[tool])

    if case.name == "gemini":
        with pytest.raises(UnsupportedParameterError) as refused:
            await provider(case, fake, http).chat(request)
        assert refused.value.param == "tools" and "strict" in refused.value.message
        assert case.chat_requests(fake) == 0
        return
    await provider(case, fake, http).chat(request)
    body = case.received(fake)
    if case.name == "openai_compat":
        assert body["tools"][0]["function"]["strict"] is True
    else:
        sent = body["tools"][0]
        assert sent["strict"] is True and sent["input_schema"]["additionalProperties"] is False
