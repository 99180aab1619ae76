"""Server-Sent Events, parsed incrementally from the bytes of a response (the WHATWG event-stream rules).

Lines end with CRLF, LF or CR — and only those: a JSON payload may hold U+2028 or a form feed raw, and a
line-based text reader that splits on every Unicode line break would cut such an event in two. Lines are split
as bytes (an event stream is always UTF-8) and decoded one by one, so a character cut between two network
chunks is never mangled. The events of one chunk are returned together, which spares a generator step per
line and per event on the streaming hot path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

_BOM = b"\xef\xbb\xbf"


@dataclass
class SSEEvent:
    """One server-sent event: its ``event:`` name (``None`` when absent) and its joined ``data:`` lines."""

    event: str | None
    data: str


class SSEParser:
    """Feed it the body's chunks; it returns the events each one completes. :meth:`close` ends the input.

    Comments (``:``) and ``id`` / ``retry`` fields are skipped. An event still pending at the end of the input is
    returned by :meth:`close`, so a cut-off stream surfaces as a last, usually unparsable, event rather than
    silently vanishing.
    """

    def __init__(self) -> None:
        self._rest = b""  # an unfinished line
        self._after_cr = False  # the last chunk ended with CR: a LF starting the next one belongs to it
        self._started = False
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk``."""
        if not chunk:
            return []
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if self._rest:
            chunk = self._rest + chunk
            self._rest = b""
        if not self._started:
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._rest = chunk  # too short to tell whether it is a byte order mark
                return []
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        lines = chunk.splitlines(keepends=True)  # bytes split on CR, LF and CRLF only
        if lines and lines[-1][-1:] not in (b"\n", b"\r"):
            self._rest = lines.pop()
        elif lines and lines[-1][-1:] == b"\r":
            self._after_cr = True
        events: list[SSEEvent] = []
        for raw in lines:
            self._line(raw.rstrip(b"\r\n"), events)
        return events

    def close(self) -> list[SSEEvent]:
        """The end of the input: the last line and event, if any were left unfinished."""
        events: list[SSEEvent] = []
        if self._rest and self._rest != _BOM[: len(self._rest)]:
            self._line(self._rest, events)
        self._rest = b""
        if self._data or self._event is not None:
            events.append(SSEEvent(self._event, "\n".join(self._data)))
            self._event, self._data = None, []
        return events

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data or self._event is not None:
                events.append(SSEEvent(self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            return
        if line[:1] == b":":
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")


async def aiter_sse(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[SSEEvent]]:
    """The events of a byte stream (``HTTPResponse.aiter_bytes()``), a list per chunk that completed any."""
    parser = SSEParser()
    async for chunk in chunks:
        events = parser.feed(chunk)
        if events:
            yield events
    events = parser.close()
    if events:
        yield events


__all__ = ["SSEEvent", "SSEParser", "aiter_sse"]
