"""Server-sent events decoded from bytes as they arrive, for every stream the transport reads.

Our own decoder because the libraries sit on other clients (`httpx-sse` on httpx), and a
consumer of chat streams needs only this much of the spec.

The WHATWG rules it keeps: an optional UTF-8 BOM first; lines end in LF,
CRLF or CR (also split across reads); `data` lines are joined with LF; comments, other fields and
events without data are skipped. A line, and an event, may not grow past `max_event` bytes: a
stream that never ends either would otherwise hold the gateway's memory.
"""

from __future__ import annotations

_BOM = b"\xef\xbb\xbf"


class SSEDecodeError(ValueError):
    """The bytes are not an event stream: a line or event past the limit, or not UTF-8."""


class SSEDecoder:
    def __init__(self, *, max_event: int = 1 << 20) -> None:
        self._pending: list[bytes] = []  # pieces of an unfinished line
        self._pending_size = 0
        self._after_cr = False
        self._started = False
        self._data: list[str] = []
        self._data_size = 0
        self._max_event = max_event

    def feed(self, chunk: bytes) -> list[str]:
        """The data of each event that `chunk` completes, in order."""
        if not self._started:
            head = b"".join([*self._pending, chunk])
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._pending = [head]  # maybe a BOM split across reads: decide with more bytes
                return []
            chunk, self._pending, self._started = head.removeprefix(_BOM), [], True
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF whose CR ended the last read
        if not chunk:
            return []
        self._after_cr = chunk.endswith(b"\r")
        lines = chunk.splitlines(keepends=True)
        if not lines[-1].endswith((b"\n", b"\r")):
            tail = lines.pop()  # an unfinished line: kept in pieces, joined once it ends
            if not lines:
                self._pend(tail)
                return []
        else:
            tail = b""
        if self._pending:
            lines[0] = b"".join([*self._pending, lines[0]])
            self._pending, self._pending_size = [], 0
        if tail:
            self._pend(tail)
        events: list[str] = []
        for line in lines:
            line = line.rstrip(b"\r\n")
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data, self._data_size = [], 0
                continue
            field, _, value = line.partition(b":")
            if field == b"data":
                value = value.removeprefix(b" ")
                self._data_size += len(value) + 1
                if self._data_size > self._max_event:
                    raise SSEDecodeError(f"an event is longer than {self._max_event} bytes")
                try:
                    self._data.append(value.decode())
                except UnicodeDecodeError:
                    raise SSEDecodeError("an event stream line is not UTF-8") from None
        return events

    def _pend(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > self._max_event:
            raise SSEDecodeError(f"an event stream line is longer than {self._max_event} bytes")
