"""Structured outputs and tool schemas, per wire format, over real HTTP to loopback vendors that
refuse what each vendor refuses (Anthropic's structured-output subset, Gemini's JSON Schema
keywords): Pydantic-generated schemas reach each vendor in its dialect, and the answer is JSON the
caller's model parses, whole and streamed."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from ideaforge_gateway.adapters.gemini.generate_content_format import GeminiGenerateContentFormat
from ideaforge_gateway.adapters.http.token_auth import HeaderAuth
from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_llm_provider import HttpLLMProvider
from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import UnsupportedParameterError
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ChatRequest, ProviderName, Tier, ToolSpec
from ideaforge_gateway.entrypoints.container import close
from tests.integration.test_wire_format_contract import Case, ask, case, collect, fake, provider
from tests.support.app import container_for
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini

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


async def test_the_chain_skips_a_provider_that_cannot_honour_the_response_format(tmp_path: Path) -> None:
    # Gemini 2.5 refuses JSON output with tools; Claude Sonnet 4.5 has structured outputs with
    # tools: Gemini is skipped (its attempt says why), never asked a different question.
    tool = ToolSpec("book", "Book a trip", Booking.model_json_schema())
    options = ChatOptions(tools=[tool], extra={"response_format": as_response_format(Passenger)})
    with FakeGemini(api_key="AIza-so") as gemini, FakeAnthropic(api_key="sk-ant-so") as anthropic:
        container = container_for(
            tmp_path,
            gemini_api_key="AIza-so",
            gemini_base_url=gemini.url,
            anthropic_api_key="sk-ant-so",
            anthropic_base_url=anthropic.url,
            anthropic_standard_model="claude-sonnet-4-5-20250929",
        )
        try:
            request = GenerateRequest(messages=[ChatMessage("user", "who?")], tier=Tier.STANDARD, options=options)
            answered = await container.generate_reply().execute(request)
        finally:
            await close(container)

    assert answered.response.provider is ProviderName.ANTHROPIC
    assert isinstance(Passenger.model_validate_json(answered.response.content or ""), Passenger)
    skipped = answered.attempts[0]
    assert (skipped.provider, skipped.outcome) == (ProviderName.GEMINI, "invalid_request")
    assert skipped.error is not None and "'response_format'" in skipped.error and "Gemini 3" in skipped.error
    assert gemini.state.generate_requests == 0
    assert anthropic.state.last_body is not None and "output_config" in anthropic.state.last_body


async def test_gemini_3_takes_a_schema_with_tools_through_a_tool_round_trip(http: HttpTransport) -> None:
    tool = ToolSpec("book", "Book a trip", Booking.model_json_schema())
    options = ChatOptions(tools=[tool], extra={"response_format": as_response_format(Passenger)})
    question = [ChatMessage("user", "book Oslo, then say who travels")]
    with FakeGemini(api_key="AIza-so") as gemini:
        auth = HeaderAuth("x-goog-api-key", "", SecretStr("AIza-so"))
        source = HttpLLMProvider(http, base_url=gemini.url, auth=auth, wire=GeminiGenerateContentFormat())
        first = await source.chat(ChatRequest("gemini-3-pro-preview", question, options))
        assert first.finish_reason == "tool_calls"
        sent = gemini.state.last_body
        assert sent is not None and sent["generationConfig"]["responseJsonSchema"]["properties"].keys() == {
            "name", "seat", "meal"
        }  # fmt: skip
        history = [
            *question,
            ChatMessage("assistant", None, tool_calls=first.tool_calls),
            ChatMessage("tool", "booked", tool_call_id=first.tool_calls[0].id),
        ]
        second = await source.chat(ChatRequest("gemini-3-pro-preview", history, options))

    assert isinstance(Passenger.model_validate_json(second.content or ""), Passenger)
    assert second.finish_reason == "stop"
