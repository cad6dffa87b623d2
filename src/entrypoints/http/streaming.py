"""Streamed answers that let go of their upstream the moment the client does."""

from __future__ import annotations

from fastapi.responses import StreamingResponse
from starlette.types import Send


class ClosingStreamingResponse(StreamingResponse):
    """A `StreamingResponse` that closes its body however the response ends.

    Starlette leaves the body generator to the garbage collector when the client goes away
    mid-stream; closing it at once releases the upstream stream (and stops its tokens) now,
    whatever the collector's thresholds.
    """

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            await aclose(self.body_iterator)


async def aclose(iterator: object) -> None:
    """Close an async generator (or anything with `aclose`); other iterators need nothing."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
