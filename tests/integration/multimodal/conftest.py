"""One vendor at a time behind the gateway, for the multimodal tests: an OpenAI-compatible
upstream, Anthropic or Gemini, each a loopback fake that records the bodies it received."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_ai_gateway import FakeAIGateway
from tests.support.fake_anthropic import MODELS as CLAUDE_MODELS
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_gemini import FakeGemini

OPENAI_KEY = "sk-openai-canary"
ANTHROPIC_KEY = "sk-ant-canary"
GEMINI_KEY = "AIza-canary"


@dataclass(frozen=True)
class Vendor:
    """A wire format, its fake, the settings that put it behind the gateway, and how to read
    the last user turn the fake received."""

    name: str
    start: Callable[[], Any]
    settings: Callable[[Any], dict[str, Any]]
    last_turn: Callable[[Any], Any]
    requests: Callable[[Any], int]
    """How many chat requests the fake received."""


VENDORS = [
    Vendor(
        "openai_compat",
        lambda: FakeAIGateway(api_key=OPENAI_KEY),
        lambda fake: {"openai_api_key": OPENAI_KEY, "openai_base_url": f"{fake.url}/v1"},
        lambda fake: fake.state.last_chat_body["messages"][-1]["content"],
        lambda fake: int(fake.state.chat_requests),
    ),
    Vendor(
        "anthropic",
        lambda: FakeAnthropic(api_key=ANTHROPIC_KEY),
        lambda fake: {
            "anthropic_api_key": ANTHROPIC_KEY,
            "anthropic_base_url": fake.url,
            **dict.fromkeys(
                ("anthropic_fast_model", "anthropic_standard_model", "anthropic_premium_model"), CLAUDE_MODELS[0]
            ),
        },
        lambda fake: fake.state.last_body["messages"][-1]["content"],
        lambda fake: int(fake.state.message_requests),
    ),
    Vendor(
        "gemini",
        lambda: FakeGemini(api_key=GEMINI_KEY),
        lambda fake: {"gemini_api_key": GEMINI_KEY, "gemini_base_url": fake.url},
        lambda fake: fake.state.last_body["contents"][-1]["parts"],
        lambda fake: int(fake.state.generate_requests),
    ),
]


@pytest.fixture(params=VENDORS, ids=[v.name for v in VENDORS])
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def upstream(vendor: Vendor) -> Iterator[Any]:
    with vendor.start() as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, vendor: Vendor, upstream: Any) -> dict[str, Any]:
    return {"ideaforge_allow_private_base_urls": True, **vendor.settings(upstream)}
