"""Helpers for tests of Agno agents: settings for loopback providers, and bounded threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tests.support.fake_ai_gateway import FakeAIGateway

OPENAI_KEY = "sk-fake-openai-agno"
T = TypeVar("T")


def settings_for(gateway: FakeAIGateway, openai: FakeAIGateway | None = None, **extra: Any) -> dict[str, Any]:
    """The environment's AI Gateway (enabled), and OpenAI behind it when given."""
    values: dict[str, Any] = {
        "ai_gateway_client_id": gateway.state.client_id,
        "ai_gateway_client_secret": gateway.state.client_secret,
        "ai_gateway_base_url": gateway.url,
        "ai_gateway_enabled": True,
        "ideaforge_deadline_seconds": 5.0,
    }
    if openai is not None:
        values |= {"openai_api_key": OPENAI_KEY, "openai_base_url": f"{openai.url}/v1"}
    return values | extra


def in_thread(work: Callable[[], T], *, timeout: float = 10.0) -> T:
    """`work()` on a daemon thread, waited for at most `timeout` s: a deadlock fails the test
    instead of hanging the run."""
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, daemon=True, name="test-worker")
    thread.start()
    thread.join(timeout)
    assert outcome, f"no answer within {timeout} s: deadlocked?"
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


async def in_thread_async(work: Callable[[], T], *, timeout: float = 10.0) -> T:
    """`in_thread` without blocking the running loop, which the work may need."""
    return await asyncio.wait_for(asyncio.to_thread(in_thread, work, timeout=timeout), timeout + 1)
