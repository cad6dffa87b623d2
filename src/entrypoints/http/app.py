"""The FastAPI application, built on the same container as the CLI."""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from ideaforge_gateway.entrypoints.container import Container, close
from ideaforge_gateway.entrypoints.http.body import document_bodies
from ideaforge_gateway.entrypoints.http.errors import install_error_handlers
from ideaforge_gateway.entrypoints.http.limits import BodySizeLimit
from ideaforge_gateway.entrypoints.http.observability import RequestObservation
from ideaforge_gateway.entrypoints.http.routes import api, docs, openai_compat, operators, settings_page, system
from ideaforge_gateway.entrypoints.http.start_proof import START_KEY_VARIABLE

MAX_BODY_BYTES = 4 * 1024 * 1024
CHAT_BODY_BYTES = 20 * 1024 * 1024
"""The cap on the chat routes' bodies, which carry images, audio and files inline as base64: a
few photos as data URIs (Anthropic's own cap is 10 MB per image, 32 MB per request)."""
CHAT_PATHS = ("/v1/chat/completions", "/api/generate")


def create_app(
    container: Container | None = None, *, owns_process: bool = False, start_key: str | None = None
) -> FastAPI:
    """The app for `container` (a new one from the environment when None). `owns_process`: the
    app is all its process serves (`ideaforge serve`), so it may tune the garbage collector.
    `start_key`: `serve`'s key for this start, with which `/healthz` proves it is this server
    (`start_proof`); None outside `serve`."""
    container = container or Container()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Fail at start-up, not on the first request: settings, keys and migrations.
        await run_in_threadpool(container.engine)
        # Provider I/O belongs to this loop; sync code in worker threads is bridged onto it.
        container.loop_bridge().adopt_running_loop()
        if owns_process:
            # Once the server is up: ~200 ms that readiness need not wait for.
            asyncio.get_running_loop().call_later(_SETTLE_AFTER_SECONDS, _settle, container)
        try:
            yield
        finally:
            await close(container)
            if container.metrics() is not None:
                from ideaforge_gateway.adapters.observability.prometheus_telemetry import mark_worker_gone

                mark_worker_gone()

    app = FastAPI(
        title="IdeaForge provider gateway",
        version="0.1.0",
        description="AI Gateway first, OpenAI, Gemini and Claude behind it; each user's credentials encrypted.",
        lifespan=lifespan,
        # Served by `routes.docs` from this server's own copies of the assets, not from a CDN.
        docs_url=None,
        redoc_url=None,
        # FastAPI's built-in OpenTelemetry hooks look up the tracer, meter and logger providers
        # (os.environ reads) on every request; off unless someone wires OpenTelemetry in.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.start_key = start_key
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(api.router)
    app.include_router(openai_compat.router)
    app.include_router(settings_page.router)
    app.include_router(docs.router)
    app.include_router(operators.router)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES, larger=dict.fromkeys(CHAT_PATHS, CHAT_BODY_BYTES))
    app.add_middleware(RequestObservation, metrics=container.metrics)  # outermost: it sees the 413s too
    document_bodies(app)
    return app


def app_from_environment() -> FastAPI:
    """The factory `ideaforge serve` hands to uvicorn, once per worker process. The start key is
    taken out of the environment, so nothing this worker starts inherits it."""
    return create_app(owns_process=True, start_key=os.environ.pop(START_KEY_VARIABLE, None))


_SETTLE_AFTER_SECONDS = 0.5
_WARM_UP = ("ideaforge_gateway.adapters.http_provider_factory",)
"""Modules the container loads on first use (the provider adapters and their wire formats)."""


def _settle(container: Container) -> None:
    """After start-up: load and make what the first request would otherwise wait for (the
    provider adapters, the HTTP clients and their TLS contexts, the AI Gateway's catalog), then
    tune the collector."""
    for module in _WARM_UP:
        importlib.import_module(module)
    container.http_client()
    container.user_url_http_client()
    catalog = container.catalog_view()
    if catalog is not None:
        catalog.cached()  # read it now, in the background: requests check models against it
    _tune_gc()


def _tune_gc() -> None:
    """What start-up built lives as long as the process: move it out of the collector's sight
    (`gc.freeze`), and let the youngest generation fill 10x longer between collections, since
    every request makes many short-lived objects (measured side by side: bench/analysis.md).
    `ideaforge serve` keeps the collector off while it starts (imports make many objects and no
    cycles worth a pass); it is on from here."""
    gc.collect()  # start-up's garbage is freed, not frozen with the rest
    gc.freeze()
    gc.set_threshold(7000, 10, 10)
    gc.enable()
