"""A canary client secret pushed through every path of the slice is found nowhere."""

from __future__ import annotations

import logging
import traceback

import pytest
from pydantic import SecretStr

from ideaforge_gateway.adapters.http.transport import HttpTransport
from ideaforge_gateway.adapters.http_provider_factory import AIGatewayDefaults, HttpProviderFactory
from ideaforge_gateway.domain.credentials import AuthMethod, ProviderCredentials
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.domain.models import ChatMessage, ChatRequest, ProviderName
from tests.support.fake_ai_gateway import FakeAIGateway

CANARY_ID = "canary-client-id-5b1e"
CANARY_SECRET = "canary-secret-9d2f+/:="


@pytest.mark.parametrize("method", list(AuthMethod))
async def test_canaries_appear_in_no_log_exception_or_repr(
    http: HttpTransport, caplog: pytest.LogCaptureFixture, method: AuthMethod
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with FakeAIGateway(client_id=CANARY_ID, client_secret=CANARY_SECRET, auth_method=method.value) as gateway:
        gateway.state.accept_static_key = method is AuthMethod.STATIC_KEY

        def build(secret: str) -> object:
            factory = HttpProviderFactory(http, ai_gateway=AIGatewayDefaults(base_url=gateway.url, auth_method=method))
            credentials = ProviderCredentials(
                ProviderName.AI_GATEWAY, api_key=SecretStr(CANARY_ID), client_secret=SecretStr(secret)
            )
            texts.extend([repr(credentials), str(credentials), repr(factory)])
            return factory.build(credentials)

        good = build(CANARY_SECRET)
        texts.append(repr(good))
        await good.list_models()  # type: ignore[attr-defined]
        request = ChatRequest("gpt-4o", [ChatMessage("user", "hi")])
        texts.append(repr(request))
        await good.chat(request)  # type: ignore[attr-defined]

        failures = [
            (build(CANARY_SECRET + "x"), "chat"),  # rejected credentials
            (good, "unknown-model"),
        ]
        gateway.state.chat_failures = [500]
        failures.append((good, "chat"))
        for client, what in failures:
            model = "no-such-model" if what == "unknown-model" else "gpt-4o"
            try:
                await client.chat(ChatRequest(model, [ChatMessage("user", "hi")]))  # type: ignore[attr-defined]
            except GatewayError as exc:
                texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
        gateway.state.token_failures = [503] * 5
        try:
            await build(CANARY_SECRET + "y").list_models()  # type: ignore[attr-defined]
        except GatewayError as exc:
            texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])

    texts.append(caplog.text)
    everything = "\n".join(texts)
    assert len(everything) > 500
    assert CANARY_SECRET not in everything
    assert "canary" not in everything
