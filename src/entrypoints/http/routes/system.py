"""Health, for load balancers, Kubernetes probes and `serve`'s readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ideaforge_gateway.adapters.sql.readiness import database_problems
from ideaforge_gateway.domain.errors import GatewayError
from ideaforge_gateway.entrypoints.http.deps import ContainerDep
from ideaforge_gateway.entrypoints.http.start_proof import CHALLENGE_HEADER, MAX_CHALLENGE_LENGTH, PROOF_HEADER, proof

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """`{"status": "ok"}` while this worker serves (a liveness probe); nothing about the process.
    Under `ideaforge serve`, a request carrying `X-IdeaForge-Start-Challenge` also gets
    `X-IdeaForge-Start-Proof`, by which `serve` knows the answer is its own (`start_proof`).
    Async: a probe must not wait for a thread-pool slot (the cost of a sync route:
    bench/analysis.md)."""
    key: str | None = request.app.state.start_key
    challenge = request.headers.get(CHALLENGE_HEADER)
    if key is None or not challenge or len(challenge) > MAX_CHALLENGE_LENGTH:
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "ok"}, headers={PROOF_HEADER: proof(key, challenge)})


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
        return JSONResponse({"status": "not_ready", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})
