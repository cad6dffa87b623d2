"""The API docs (Swagger UI at `/docs`) and `/`, served by the product itself.

FastAPI's own docs pages load Swagger UI from a public CDN, so they render blank where enterprise
gateways run: on networks without internet access. This page loads the same assets from this
server instead, as shipped by the `fastapi-offline` package (MIT; Swagger UI 5 under Apache-2.0).
ReDoc is not offered: even with its script served here, it fetches its logo from its own CDN.
None of these needs a token. `/` sends a person to the Settings page, which links the docs.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from ideaforge_gateway.entrypoints.http.errors import ApiError

ASSETS_PATH = "/docs/assets"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}

router = APIRouter(include_in_schema=False)


@cache
def assets_dir() -> Path:
    """Where `fastapi-offline` keeps its copies of the assets (found without importing it)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package is missing: reinstall ideaforge-gateway")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@router.get("/")
async def home() -> RedirectResponse:
    """A person who opens the server's address lands on the Settings page (it links the docs)."""
    return RedirectResponse("/settings", status_code=307)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} · API docs",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        swagger_ui_parameters=request.app.swagger_ui_parameters,
    )


@router.get(ASSETS_PATH + "/{name}")
async def docs_asset(name: str) -> FileResponse:
    """One of the docs' assets; only the files named in `_ASSETS` are served."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise ApiError(404, "no such docs asset", "not_found")
    return FileResponse(assets_dir() / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
