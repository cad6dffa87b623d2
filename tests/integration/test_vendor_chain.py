"""The chain across vendors' wire formats, and the AI Gateway's per-family routes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import StreamInterruptedError, UnsupportedParameterError
from ideaforge_gateway.domain.models import ChatMessage, ChatOptions, ProviderName, Tier
from ideaforge_gateway.entrypoints.container import close
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini

ASK = GenerateRequest(messages=[ChatMessage("user", "hello")], tier=Tier.FAST)
ANTHROPIC_TIERS = {
    "anthropic_fast_model": "claude-3-5-haiku-20241022",
    "anthropic_standard_model": "claude-sonnet-4-5-20250929",
    "anthropic_premium_model": "claude-opus-4-1-20250805",
}


async def test_gateway_down_then_gemini_then_claude(tmp_path: Path) -> None:
    with (
        FakeAIGateway() as gateway,
        FakeGemini(api_key="AIza-canary") as gemini,
        FakeAnthropic(api_key="sk-ant-canary") as anthropic,
    ):
        container = container_for(
            tmp_path,
            ai_gateway_client_id=gateway.state.client_id,
            ai_gateway_client_secret=gateway.state.client_secret,
            ai_gateway_base_url=gateway.url,
            ai_gateway_enabled=True,
            gemini_api_key="AIza-canary",
            gemini_base_url=gemini.url,
            anthropic_api_key="sk-ant-canary",
            anthropic_base_url=anthropic.url,
            **ANTHROPIC_TIERS,
        )
        try:
            gateway.state.chat_failures = [503] * 4
            by_gemini = await container.generate_reply().execute(ASK)
            assert by_gemini.response.provider is ProviderName.GEMINI
            assert by_gemini.response.model == "gemini-2.5-flash"
            assert by_gemini.response.content == "echo: hello"

            gemini.state.failures = [503] * 4
            by_claude = await container.generate_reply().execute(ASK)
            assert by_claude.response.provider is ProviderName.ANTHROPIC
            assert by_claude.response.model == "claude-3-5-haiku-20241022"
            assert [a.provider.value for a in by_claude.attempts] == [
                "ai_gateway", "ai_gateway", "gemini", "gemini", "anthropic",
            ]  # fmt: skip

            gateway.state.chat_failures = [503] * 2
            gemini.state.failures = [503] * 2
            stream = container.generate_reply().stream(ASK)
            text = "".join([d.content or "" async for d in stream.deltas])
            assert text == "echo: hello" and stream.provider is ProviderName.ANTHROPIC
        finally:
            await close(container)


async def test_claude_models_take_the_gateways_anthropic_route(tmp_path: Path) -> None:
    # static_key: the gateway's bearer is client_id:client_secret, which the fake route checks.
    with FakeAIGateway(accept_static_key=True) as gateway:
        bearer = f"{gateway.state.client_id}:{gateway.state.client_secret}"
        with FakeAnthropic(prefix="/instance-1", bearer=bearer) as route:
            container = container_for(
                tmp_path,
                ai_gateway_client_id=gateway.state.client_id,
                ai_gateway_client_secret=gateway.state.client_secret,
                ai_gateway_base_url=gateway.url,
                ai_gateway_auth_method="static_key",
                ai_gateway_anthropic_base_url=route.url,
                ai_gateway_enabled=True,
            )
            try:
                request = GenerateRequest(
                    messages=[ChatMessage("user", "via route")], model="claude-sonnet-4-5-20250929"
                )
                claude = await container.generate_reply().execute(request)
                gpt = await container.generate_reply().execute(ASK)
            finally:
                await close(container)
            assert claude.response.provider is ProviderName.AI_GATEWAY
            assert claude.response.content == "echo: via route"
            assert route.state.message_requests == 1
            assert gpt.response.model == "gpt-4o-mini" and gateway.state.chat_requests == 1


async def test_a_provider_that_cannot_honour_a_parameter_is_skipped_and_none_that_can_is_a_400(
    tmp_path: Path,
) -> None:
    # Issue 13: a later provider is never asked a different question. Gemini has no `user`, so
    # it is skipped (the attempt says why) and Claude, which has it, answers; nobody has
    # `verbosity` here, so the answer is the refusal naming it.
    with FakeGemini(api_key="AIza-canary") as gemini, FakeAnthropic(api_key="sk-ant-canary") as anthropic:
        container = container_for(
            tmp_path,
            gemini_api_key="AIza-canary",
            gemini_base_url=gemini.url,
            anthropic_api_key="sk-ant-canary",
            anthropic_base_url=anthropic.url,
            **ANTHROPIC_TIERS,
        )
        try:
            with_user = replace(ASK, options=ChatOptions(extra={"user": "end-user-1"}))
            answered = await container.generate_reply().execute(with_user)
            assert answered.response.provider is ProviderName.ANTHROPIC
            assert anthropic.state.last_body is not None
            assert anthropic.state.last_body["metadata"] == {"user_id": "end-user-1"}
            skipped = answered.attempts[0]
            assert (skipped.provider, skipped.outcome) == (ProviderName.GEMINI, "invalid_request")
            assert skipped.error is not None and "'user'" in skipped.error
            assert gemini.state.generate_requests == 0

            with_verbosity = replace(ASK, options=ChatOptions(extra={"verbosity": "low"}))
            with pytest.raises(UnsupportedParameterError) as refused:
                await container.generate_reply().execute(with_verbosity)
            assert refused.value.param == "verbosity"
            assert [a.provider for a in refused.value.attempts] == [ProviderName.GEMINI, ProviderName.ANTHROPIC]
            assert anthropic.state.message_requests == 1  # only the first request's
        finally:
            await close(container)


async def test_an_in_band_error_before_content_falls_over_and_after_content_ends_the_stream(tmp_path: Path) -> None:
    # Issue 13: Gemini's error chunk and Anthropic's `event: error` are failures, never a finish.
    with FakeGemini(api_key="AIza-canary") as gemini, FakeAnthropic(api_key="sk-ant-canary") as anthropic:
        container = container_for(
            tmp_path,
            gemini_api_key="AIza-canary",
            gemini_base_url=gemini.url,
            anthropic_api_key="sk-ant-canary",
            anthropic_base_url=anthropic.url,
            **ANTHROPIC_TIERS,
        )
        try:
            gemini.state.stream_error_after = 0
            stream = container.generate_reply().stream(ASK)
            assert "".join([d.content or "" async for d in stream.deltas]) == "echo: hello"
            assert stream.provider is ProviderName.ANTHROPIC
            first = stream.attempts[0]
            assert (first.provider, first.outcome) == (ProviderName.GEMINI, "unavailable")
            assert first.error is not None and "(UNAVAILABLE)" in first.error

            gemini.state.stream_error_after = None
            gemini.state.failures = [503] * 4
            anthropic.state.stream_error_after = 4  # after the first words of the answer
            stream = container.generate_reply().stream(GenerateRequest(messages=[ChatMessage("user", "a b c d e")]))
            received = []
            with pytest.raises(StreamInterruptedError) as broke:
                async for delta in stream.deltas:
                    received.append(delta)
            assert "".join(d.content or "" for d in received).startswith("echo:")
            assert not any(d.finish_reason for d in received)
            assert broke.value.vendor_code == "overloaded_error"
        finally:
            await close(container)
