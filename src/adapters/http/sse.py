"""Server-sent events decoded from bytes as they arrive, for the streams read without httpx.

The WHATWG rules a consumer of chat streams needs: lines end in LF, CRLF or CR (also split across
reads); `data` lines are joined with LF; comments, other fields and events without data are
skipped. An unfinished line may not grow past `max_line` bytes: a stream that never ends a line
would otherwise hold the gateway's memory.
"""

from __future__ import annotations


class SSEDecodeError(ValueError):
    """The bytes are not an event stream: a line past the limit, or not UTF-8."""


class SSEDecoder:
    def __init__(self, *, max_line: int = 1 << 20) -> None:
        self._pending = b""
        self._after_cr = False
        self._data: list[str] = []
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[str]:
        """The data of each event that `chunk` completes, in order."""
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF whose CR ended the last read
        self._after_cr = chunk.endswith(b"\r")
        lines = (self._pending + chunk).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
        if len(pending) > self._max_line:
            raise SSEDecodeError(f"an event stream line is longer than {self._max_line} bytes")
        self._pending = pending
        events: list[str] = []
        for line in lines:
            line = line.rstrip(b"\r\n")
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            field, _, value = line.partition(b":")
            if field == b"data":
                try:
                    self._data.append(value.removeprefix(b" ").decode())
                except UnicodeDecodeError:
                    raise SSEDecodeError("an event stream line is not UTF-8") from None
        return events
