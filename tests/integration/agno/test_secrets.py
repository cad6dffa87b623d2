"""A canary client secret pushed through Agno runs is found in no error, repr or log line."""

from __future__ import annotations

import copy
import logging
import traceback
from pathlib import Path

import pytest
from agno.agent import Agent
from agno.exceptions import ModelAuthenticationError
from agno.models.message import Message

from ideaforge_gateway.domain.agents import AgentRunRequest
from ideaforge_gateway.domain.errors import AuthenticationError
from ideaforge_gateway.entrypoints.container import close
from tests.support.agents import settings_for
from tests.support.app import container_for
from tests.support.fake_ai_gateway import FakeAIGateway

CANARY_ID = "canary-client-id-77aa"
CANARY_SECRET = "canary-secret-41c0+/:="


async def test_canaries_appear_in_no_agno_error_repr_or_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with FakeAIGateway(client_id=CANARY_ID, client_secret=CANARY_SECRET) as gateway:
        app = container_for(tmp_path, **settings_for(gateway, ai_gateway_client_secret=CANARY_SECRET + "-old"))
        try:
            with pytest.raises(AuthenticationError) as refused:
                await app.generate_with_agent().execute(AgentRunRequest("hi"))
            texts.extend([str(refused.value), "".join(traceback.format_exception(refused.value))])

            model = app.ai_gateway_model()
            texts.extend([repr(model), repr(copy.deepcopy(model)), repr(app.agent_model())])
            with pytest.raises(ModelAuthenticationError) as agno_error:
                await model.ainvoke(
                    messages=[Message(role="user", content="x")], assistant_message=Message(role="assistant")
                )
            texts.append("".join(traceback.format_exception(agno_error.value)))
            output = await Agent(model=model, telemetry=False).arun("hi")
            texts.extend([str(output.content), repr(output.messages)])
        finally:
            await close(app)
    texts.append(caplog.text)
    everything = "\n".join(texts)
    assert "rejected the client credentials" in everything and "Error in Agent run" in caplog.text
    assert CANARY_SECRET not in everything
    assert "canary" not in everything
