"""Issue 13's rule, per wire format: every chat-completions parameter of OpenAI's API reference
is forwarded as given (OpenAI-compatible), translated (to the vendor's field, checked in the body
the loopback upstream received), or refused before anything is sent, with a 400-class error
naming the parameter and the provider. One case per row of the README's parameter table (the
reasoning rows are in `test_reasoning_contract.py`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.domain.errors import UnsupportedParameterError
from tests.integration.test_wire_format_contract import CASES, WEATHER, Case, ask, case, fake, provider

__all__ = ["case", "fake"]  # the fixtures, shared with the contract suite

REFUSED = None
Check = Callable[[dict[str, Any]], object] | None


def forwarded(name: str) -> Callable[[dict[str, Any]], object]:
    return lambda body: body.get(name)


def generation(key: str) -> Callable[[dict[str, Any]], object]:
    return lambda body: body.get("generationConfig", {}).get(key)


JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True}}


def JSON_TOOL(body: dict[str, Any]) -> object:  # a row's check, named like the others
    """Anthropic's forced-tool technique for JSON mode (more in test_structured_outputs.py)."""
    forced = body["tool_choice"] == {"type": "tool", "name": "json_output"}
    return forced and body["tools"][0]["input_schema"] == {"type": "object"} and "application/json"


def OUTPUT_FORMAT(body: dict[str, Any]) -> object:
    """Anthropic's structured outputs, the schema in its dialect (objects closed)."""
    output_format = body["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    return {k: v for k, v in output_format["schema"].items() if k != "additionalProperties"}


# (parameter, value, what Anthropic's body holds, what Gemini's body holds, the value expected there)
ROWS: list[tuple[str, Any, Check, Check, Any]] = [
    ("max_completion_tokens", 50, lambda b: b["max_tokens"], generation("maxOutputTokens"), 50),
    ("top_p", 0.5, forwarded("top_p"), generation("topP"), 0.5),
    ("seed", 7, REFUSED, generation("seed"), 7),
    ("presence_penalty", 0.5, REFUSED, generation("presencePenalty"), 0.5),
    ("frequency_penalty", 0.5, REFUSED, generation("frequencyPenalty"), 0.5),
    ("user", "user-1", lambda b: b["metadata"]["user_id"], REFUSED, "user-1"),
    ("response_format", {"type": "json_object"}, JSON_TOOL, generation("responseMimeType"), "application/json"),
    ("response_format", JSON_SCHEMA, OUTPUT_FORMAT, generation("responseJsonSchema"), {"type": "object"}),
    ("logprobs", True, REFUSED, REFUSED, None),
    ("top_logprobs", 2, REFUSED, REFUSED, None),
    ("logit_bias", {"50256": -100}, REFUSED, REFUSED, None),
    ("metadata", {"team": "ideas"}, REFUSED, REFUSED, None),
    ("store", True, REFUSED, REFUSED, None),
    ("service_tier", "flex", REFUSED, REFUSED, None),
    ("modalities", ["text", "audio"], REFUSED, REFUSED, None),
    ("audio", {"voice": "alloy", "format": "wav"}, REFUSED, REFUSED, None),
    ("prediction", {"type": "content", "content": "x"}, REFUSED, REFUSED, None),
    ("web_search_options", {}, REFUSED, REFUSED, None),
    ("verbosity", "low", REFUSED, REFUSED, None),
]


def _expected(case: Case, name: str, value: Any, anthropic: Check, gemini: Check, there: Any) -> tuple[Check, Any]:
    if case.name == "openai_compat":
        return forwarded(name), value
    return (anthropic if case.name == "anthropic" else gemini), there


@pytest.mark.parametrize(
    ("name", "value", "anthropic", "gemini", "there"), ROWS, ids=[f"{r[0]}={r[1]!r}" for r in ROWS]
)
async def test_each_parameter_is_forwarded_translated_or_refused_by_name(
    case: Case, fake: Any, http: HttpTransport, name: str, value: Any, anthropic: Check, gemini: Check, there: Any
) -> None:
    check, expected = _expected(case, name, value, anthropic, gemini, there)
    request = ask(case, "hello there", extra={name: value})

    if check is REFUSED:
        with pytest.raises(UnsupportedParameterError) as refused:
            await provider(case, fake, http).chat(request)
        assert refused.value.param == name
        assert repr(name) in refused.value.message and "cannot take this request" in refused.value.message
        assert case.chat_requests(fake) == 0
        return
    response = await provider(case, fake, http).chat(request)
    if name == "response_format":
        assert isinstance(json.loads(response.content or ""), dict) and response.finish_reason == "stop"
    else:
        assert response.content == "echo: hello there"
    received = case.received(fake)
    assert check(received) == expected
    if case.name == "openai_compat":
        assert "max_tokens" not in received  # reasoning models refuse it (issue 13, case 1)


async def test_parallel_tool_calls_false_is_forwarded_translated_or_refused(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    request = ask(case, "weather?", tools=[WEATHER], extra={"parallel_tool_calls": False})
    if case.name == "gemini":
        with pytest.raises(UnsupportedParameterError) as refused:
            await provider(case, fake, http).chat(request)
        assert refused.value.param == "parallel_tool_calls"
        return
    await provider(case, fake, http).chat(request)
    body = case.received(fake)
    if case.name == "openai_compat":
        assert body["parallel_tool_calls"] is False
    else:
        assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


async def test_n_is_forwarded_or_translated_with_every_choice_returned_or_refused_by_name(
    case: Case, fake: Any, http: HttpTransport
) -> None:
    request = ask(case, "hello there", extra={"n": 2})
    if case.name == "anthropic":  # Messages answers one message per request
        with pytest.raises(UnsupportedParameterError) as refused:
            await provider(case, fake, http).chat(request)
        assert refused.value.param == "n"
        assert case.chat_requests(fake) == 0
        return
    response = await provider(case, fake, http).chat(request)
    body = case.received(fake)
    assert (body["n"] if case.name == "openai_compat" else body["generationConfig"]["candidateCount"]) == 2
    assert [(c.index, c.content, c.finish_reason) for c in response.all_choices()] == [
        (0, "echo: hello there", "stop"),
        (1, "echo: hello there", "stop"),
    ]


async def test_n_streamed_from_gemini_comes_back_as_one_choice_per_candidate(http: HttpTransport) -> None:
    gemini = next(c for c in CASES if c.name == "gemini")
    with gemini.fake() as server:
        gemini.accept_bearer(server, "fresh")
        async with provider(gemini, server, http).stream(ask(gemini, "hello there", extra={"n": 2})) as deltas:
            received = [d async for d in deltas]
        assert server.state.last_body["generationConfig"]["candidateCount"] == 2
    texts = {i: "".join(d.content or "" for d in received if d.index == i) for i in (0, 1)}
    assert texts == {0: "echo: hello there", 1: "echo: hello there"}
    finishes = sorted((d.index, d.finish_reason) for d in received if d.finish_reason)
    assert finishes == [(0, "stop"), (1, "stop")]
    assert sum(1 for d in received if d.usage is not None) == 1


async def test_no_op_values_are_taken_by_every_format(case: Case, fake: Any, http: HttpTransport) -> None:
    options = {"n": 1, "logprobs": False, "store": False, "response_format": {"type": "text"}, "seed": None}
    response = await provider(case, fake, http).chat(ask(case, "hello there", extra=options))
    assert response.content == "echo: hello there"
