"""The Settings page: one static HTML file with its script and stylesheet, no build step.

The page and its assets need no token: the script asks for one, keeps it in the tab's
`sessionStorage` and sends it with every `/api` call. Nothing here is rendered from data,
so no secret can reach the page except through what `GET /api/providers` answers (never one).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ideaforge_gateway.entrypoints.http.errors import ApiError

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_ASSETS = {
    "settings.js": "text/javascript; charset=utf-8",
    "settings.css": "text/css; charset=utf-8",
}

# Scripts and styles from this origin only (no inline code, so an injected tag runs nothing);
# `form-action 'none'` stops a form from submitting a token in a URL should the script not load.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

router = APIRouter(tags=["settings"], include_in_schema=False)


def _headers(cache_control: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": cache_control,
    }


@router.get("/settings")
async def settings_page() -> FileResponse:
    """The Settings page (HTML); it signs in with a user's API token itself."""
    return FileResponse(
        STATIC_DIR / "settings.html", media_type="text/html; charset=utf-8", headers=_headers("no-store")
    )


@router.get("/settings/static/{name}")
async def settings_asset(name: str) -> FileResponse:
    """The page's script or stylesheet; only the files named in `_ASSETS` are served."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise ApiError(404, "no such Settings page asset", "not_found")
    # Revalidated on each load (ETag), so a deploy never pairs a new page with an old script.
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=_headers("no-cache"))
