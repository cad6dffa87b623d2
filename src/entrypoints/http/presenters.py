"""Domain results as API answers and SSE lines."""

from __future__ import annotations

import json
from typing import Any

from ideaforge_gateway.application.use_cases.list_providers import ProviderStatus
from ideaforge_gateway.domain.models import Attempt, Usage
from ideaforge_gateway.entrypoints.http.schemas import AttemptAnswer, ProviderStatusAnswer, UsageAnswer


def status_answer(s: ProviderStatus) -> ProviderStatusAnswer:
    return ProviderStatusAnswer.model_validate(s, from_attributes=True)


def usage_answer(usage: Usage | None) -> UsageAnswer | None:
    if usage is None:
        return None
    return UsageAnswer(
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, total_tokens=usage.total_tokens
    )


def usage_dict(usage: Usage | None) -> dict[str, int] | None:
    answer = usage_answer(usage)
    return answer.model_dump() if answer else None


def attempt_answers(attempts: tuple[Attempt, ...] | list[Attempt]) -> list[AttemptAnswer]:
    return [
        AttemptAnswer(
            provider=a.provider, model=a.model, outcome=a.outcome, latency_ms=round(a.latency_ms, 2), error=a.error
        )
        for a in attempts
    ]


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; `data` is JSON-encoded unless it is already text."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {text}\n\n".encode()
