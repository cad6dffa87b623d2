"""A cap on request bodies, enforced while they arrive (chunked bodies included)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answer 413 when a body exceeds `max_bytes` (or the path's own cap in `larger`, for routes
    that take images and files inline), before the app parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException: FastAPI's body parsing re-raises it (it would swallow
                    # any other exception into a 400), and the app answers it as a 413.
                    raise HTTPException(413, too_large_message(limit))
            return message

        await self.app(scope, limited_receive, send)


def too_large_message(limit: int) -> str:
    return f"request body too large: the limit is {limit} bytes"


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    message = too_large_message(limit)
    body: dict[str, object]
    if str(scope.get("path", "")).startswith("/v1/"):
        body = {"error": {"message": message, "type": "invalid_request_error", "code": "body_too_large"}}
    else:
        body = {"error": message, "kind": "body_too_large"}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
