"""Streamed answers that let go of their upstream the moment the client does."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

from fastapi.responses import StreamingResponse
from starlette.types import Send


class ClosingStreamingResponse(StreamingResponse):
    """A `StreamingResponse` whose body (an async generator) is closed however the response ends.

    Starlette leaves the body generator to the garbage collector when the client goes away
    mid-stream; closing it at once releases the upstream stream (and stops its tokens) now,
    whatever the collector's thresholds.
    """

    def __init__(
        self, content: AsyncGenerator[bytes, None], *, media_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self._body = content

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            await self._body.aclose()
