"""A provider whose format cannot take a content part is skipped, saying why, and the next one
is asked the same question; when none can, the refusal naming the part is the answer."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ideaforge_gateway.application.use_cases.generate_reply import GenerateRequest
from ideaforge_gateway.domain.errors import UnsupportedParameterError
from ideaforge_gateway.domain.models import ChatMessage, ContentPart, ProviderName, Tier
from ideaforge_gateway.entrypoints.container import close
from tests.integration.multimodal.conftest import ANTHROPIC_KEY, GEMINI_KEY
from tests.support.app import container_for
from tests.support.fake_anthropic import MODELS as CLAUDE_MODELS
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini

GIF = base64.b64encode(b"GIF89a" + bytes(16)).decode()


def asking(part: ContentPart) -> GenerateRequest:
    message = ChatMessage("user", parts=(ContentPart("text", text="what is this?"), part))
    return GenerateRequest(messages=[message], tier=Tier.FAST)


async def test_gemini_is_skipped_for_a_gif_and_claude_answers_then_a_file_id_nobody_takes_is_refused(
    tmp_path: Path,
) -> None:
    with FakeGemini(api_key=GEMINI_KEY) as gemini, FakeAnthropic(api_key=ANTHROPIC_KEY) as anthropic:
        container = container_for(
            tmp_path,
            gemini_api_key=GEMINI_KEY,
            gemini_base_url=gemini.url,
            anthropic_api_key=ANTHROPIC_KEY,
            anthropic_base_url=anthropic.url,
            anthropic_fast_model=CLAUDE_MODELS[2],
        )
        try:
            answered = await container.generate_reply().execute(
                asking(ContentPart("image_url", url=f"data:image/gif;base64,{GIF}"))
            )
            assert answered.response.provider is ProviderName.ANTHROPIC
            assert answered.response.content == "echo: what is this?"
            skipped = answered.attempts[0]
            assert (skipped.provider, skipped.outcome) == (ProviderName.GEMINI, "invalid_request")
            assert skipped.error is not None and "'image_url' of media type 'image/gif'" in skipped.error
            assert gemini.state.generate_requests == 0
            assert anthropic.state.last_body is not None
            assert anthropic.state.last_body["messages"][0]["content"][1]["source"]["media_type"] == "image/gif"

            with pytest.raises(UnsupportedParameterError) as refused:
                await container.generate_reply().execute(asking(ContentPart("file", file_id="file-abc")))
            assert refused.value.param == "messages" and "'file' given by file_id" in refused.value.message
            assert [a.provider for a in refused.value.attempts] == [ProviderName.GEMINI, ProviderName.ANTHROPIC]
            assert anthropic.state.message_requests == 1  # only the first request's
        finally:
            await close(container)
