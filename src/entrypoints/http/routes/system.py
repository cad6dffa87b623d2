"""Health, for load balancers and `serve`'s readiness."""

from __future__ import annotations

import os

from fastapi import APIRouter

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> dict[str, object]:
    """`ok` while this worker serves; `worker` is its process id, to tell workers apart. Async:
    a probe must not wait for a thread-pool slot (the cost of a sync route: bench/analysis.md)."""
    return {"status": "ok", "worker": os.getpid()}
