"""Health, for load balancers and `serve`'s readiness."""

from __future__ import annotations

import os

from fastapi import APIRouter

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz() -> dict[str, object]:
    """`ok` while this worker serves; `worker` is its process id, to tell workers apart."""
    return {"status": "ok", "worker": os.getpid()}
