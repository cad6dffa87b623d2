"""The official `openai` SDK's structured outputs against `/v1`, answered by an OpenAI-compatible
upstream, by Anthropic and by Gemini (loopback stand-ins that check what each vendor refuses and
answer with JSON valid for the schema they were sent): `parse` and the `stream` helper return the
Pydantic object, and each upstream received its vendor's own structured-output fields."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel

from tests.support.agents import OPENAI_KEY
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini
from tests.support.live_server import LiveServer


class Kind(enum.Enum):
    CAPITAL = "capital"
    TOWN = "town"


class Country(BaseModel):
    name: str
    code: str | None


class City(BaseModel):
    name: str
    kind: Kind
    country: Country
    districts: list[str]
    population: int | None


@dataclass
class Upstreams:
    compatible: FakeAIGateway
    anthropic: FakeAnthropic
    gemini: FakeGemini
    server: LiveServer
    token: str

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.server.url}/v1", api_key=self.token, max_retries=0, timeout=30)

    def received(self, provider: str) -> dict[str, Any]:
        if provider == "openai":
            body = self.compatible.state.last_chat_body
        else:
            body = (self.anthropic if provider == "anthropic" else self.gemini).state.last_body
        assert body is not None
        return body


MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5-20250929", "gemini": "gemini-2.5-pro"}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Upstreams]:
    with (
        FakeAIGateway(api_key=OPENAI_KEY) as oa,
        FakeAnthropic(api_key="sk-ant-so") as anthropic,
        FakeGemini(api_key="AIza-so") as gemini,
    ):
        container = container_for(
            tmp_path,
            openai_api_key=OPENAI_KEY,
            openai_base_url=f"{oa.url}/v1",
            anthropic_api_key="sk-ant-so",
            anthropic_base_url=anthropic.url,
            gemini_api_key="AIza-so",
            gemini_base_url=gemini.url,
            ideaforge_allow_private_base_urls=True,
        )
        with LiveServer(container) as server:
            yield Upstreams(oa, anthropic, gemini, server, server.create_user("sam"))


def objects(schema: Any) -> Iterator[dict[str, Any]]:
    """Every object schema in `schema`."""
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            yield schema
        for value in schema.values():
            yield from objects(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from objects(value)


def assert_vendor_fields(up: Upstreams, provider: str) -> None:
    """What each upstream received: its vendor's structured-output fields, the schema translated."""
    body = up.received(provider)
    sent = to_strict_json_schema(City)  # what the SDK's parse sends
    if provider == "openai":
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "City", "schema": sent, "strict": True},
        }
    elif provider == "anthropic":
        output_format = body["output_config"]["format"]
        assert output_format["type"] == "json_schema" and "tools" not in body
        schema = output_format["schema"]
        assert set(schema["properties"]) == set(sent["properties"]) and schema["required"] == sent["required"]
        assert all(o["additionalProperties"] is False for o in objects(schema))
        assert schema["$defs"]["Kind"]["enum"] == ["capital", "town"]
    else:
        generation = body["generationConfig"]
        assert generation["responseMimeType"] == "application/json"
        schema = generation["responseJsonSchema"]
        assert set(schema["properties"]) == set(sent["properties"]) and schema["required"] == sent["required"]
        assert schema["properties"]["population"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
        assert schema["$defs"]["Kind"]["enum"] == ["capital", "town"]


@pytest.mark.parametrize("provider", list(MODELS))
def test_parse_returns_the_pydantic_object(up: Upstreams, provider: str) -> None:
    raw = up.client().chat.completions.with_raw_response.parse(
        model=MODELS[provider], messages=[{"role": "user", "content": "Describe Oslo."}], response_format=City
    )
    completion = raw.parse()

    assert raw.headers["x-ideaforge-provider"] == provider
    choice = completion.choices[0]
    assert isinstance(choice.message.parsed, City)
    assert choice.message.parsed == City.model_validate_json(choice.message.content or "")
    assert choice.finish_reason == "stop"
    assert_vendor_fields(up, provider)


@pytest.mark.parametrize("provider", list(MODELS))
def test_the_stream_helper_returns_the_pydantic_object(up: Upstreams, provider: str) -> None:
    with up.client().chat.completions.stream(
        model=MODELS[provider], messages=[{"role": "user", "content": "Describe Oslo."}], response_format=City
    ) as stream:
        events = list(stream)
        final = stream.get_final_completion()

    assert any(e.type == "content.delta" for e in events)
    assert isinstance(final.choices[0].message.parsed, City)
    assert final.choices[0].finish_reason == "stop"
    assert_vendor_fields(up, provider)


@pytest.mark.parametrize("provider", list(MODELS))
def test_json_mode_answers_a_json_object(up: Upstreams, provider: str) -> None:
    completion = up.client().chat.completions.create(
        model=MODELS[provider],
        messages=[{"role": "user", "content": "Oslo as JSON"}],
        response_format={"type": "json_object"},
    )

    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)
    assert completion.choices[0].finish_reason == "stop"
    body = up.received(provider)
    if provider == "anthropic":  # no JSON mode at Anthropic: a forced tool that takes any object
        assert body["tool_choice"] == {"type": "tool", "name": "json_output"}
    elif provider == "gemini":
        assert body["generationConfig"] == {"responseMimeType": "application/json"}
    else:
        assert body["response_format"] == {"type": "json_object"}


def test_a_strict_schema_a_model_cannot_enforce_is_a_400_naming_it(up: Upstreams) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        up.client().chat.completions.parse(
            model="claude-3-5-haiku-20241022", messages=[{"role": "user", "content": "x"}], response_format=City
        )

    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "response_format"
    assert "Anthropic" in body["message"] and "strict" in body["message"]
    assert up.anthropic.state.message_requests == 0
