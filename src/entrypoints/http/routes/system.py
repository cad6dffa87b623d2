"""Health, for load balancers, Kubernetes probes and `serve`'s readiness."""

from __future__ import annotations

import os

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ideaforge_gateway.adapters.sql.readiness import database_problems
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.entrypoints.http.deps import ContainerDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> dict[str, object]:
    """`ok` while this worker serves (a liveness probe); `worker` is its process id, to tell
    workers apart. Async: a probe must not wait for a thread-pool slot (the cost of a sync route:
    bench/analysis.md)."""
    return {"status": "ok", "worker": os.getpid()}


@router.get("/readyz", responses={503: {"description": "Not ready: `problems` says why."}})
async def readyz(container: ContainerDep) -> JSONResponse:
    """Whether this worker can serve requests (a readiness probe): the key ring is loaded, the
    database answers and its schema is at this code's head. 200 `{"status": "ready"}`, else 503
    `{"status": "not_ready", "problems": [...]}`; never a secret or the database URL."""
    problems: list[str] = []
    try:
        container.keyring()
    except GatewayError as exc:
        problems.append(f"key ring not loaded: {exc.message}")
    else:
        problems.extend(await run_in_threadpool(database_problems, container.engine()))
    if problems:
        return JSONResponse({"status": "not_ready", "problems": problems, "worker": os.getpid()}, status_code=503)
    return JSONResponse({"status": "ready", "worker": os.getpid()})
