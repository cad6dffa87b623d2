"""Domain results as API answers and SSE lines."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ideaforge_gateway.application.use_cases.list_providers import ProviderStatus
from ideaforge_gateway.domain.catalog import CatalogModel
from ideaforge_gateway.domain.models import Attempt, ModelInfo, ModelPrice, ProviderName, Usage
from ideaforge_gateway.entrypoints.http.schemas import (
    AttemptAnswer,
    ModelAnswer,
    PriceAnswer,
    ProviderStatusAnswer,
    UsageAnswer,
)


def status_answer(s: ProviderStatus) -> ProviderStatusAnswer:
    return ProviderStatusAnswer.model_validate(s, from_attributes=True)


def model_answer(m: ModelInfo) -> ModelAnswer:
    classification = m.classification.label if m.classification is not None else None
    return ModelAnswer(id=m.id, provider=m.provider, price=price_answer(m.price), classification=classification)


def catalog_model_answer(m: CatalogModel) -> ModelAnswer:
    return ModelAnswer(
        id=m.model, provider=ProviderName.AI_GATEWAY, price=price_answer(m.price),
        classification=m.classification.label, family=m.family, endpoint=m.endpoint,
    )  # fmt: skip


def price_answer(price: ModelPrice | None) -> PriceAnswer | None:
    return None if price is None else PriceAnswer(input=float(price.input), output=float(price.output))


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


_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def header_value(text: str, *, limit: int = 512) -> str:
    """`text` as an HTTP header value that no client or server can choke on, whatever it holds.

    Printable ASCII passes unchanged (spaces too, but not at the ends); anything else (a line
    break, a control character, a non-Latin-1 letter from an upstream's model id) is
    percent-encoded as UTF-8, so the header stays one line and readable (RFC 9110 5.5: field
    values are visible ASCII). Values longer than `limit` are cut, so no upstream can bloat them.
    """
    if text.isascii() and text.isprintable() and "%" not in text and text == text.strip():
        return text[:limit]
    return quote(text, safe=_HEADER_SAFE + " ").strip()[:limit]
