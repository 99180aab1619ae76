"""The responses and errors of offload's HTTP client (:mod:`offload.backends.transport`).

:class:`HTTPResponse` is a read response (``content`` / ``text`` / ``json()``) or, from ``HTTPClient.open``, one
still streaming (``aiter_bytes()`` / ``aiter_lines()`` / ``aread()``, then ``aclose()``). Failures below HTTP are
:class:`TransportError` (timeouts :class:`TransportTimeout`), never an aiohttp type.
"""

from __future__ import annotations

import asyncio
import codecs
import json as _json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy

__all__ = ["HTTPResponse", "TransportError", "TransportTimeout", "dumps"]


class TransportError(Exception):
    """The request failed below HTTP (connect, reset, broken or malformed response)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        #: The kind of failure, e.g. ``"ConnectError"``, ``"ReadTimeout"`` (names as httpx used them).
        self.kind = kind


class TransportTimeout(TransportError):
    """A connect or read timeout."""


#: aiohttp >= 3.10 tells a connect timeout from a read timeout.
_CONNECT_TIMEOUT: Any = getattr(aiohttp, "ConnectionTimeoutError", ())


def _timeout_kind(exc: BaseException) -> str:
    if isinstance(exc, _CONNECT_TIMEOUT):
        return "ConnectTimeout"
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return "ReadTimeout"
    return "Timeout"


def _transport_error(exc: BaseException) -> TransportError:
    """Wrap an aiohttp / OS error (raise it ``from exc``)."""
    if isinstance(exc, asyncio.TimeoutError):  # before OSError: TimeoutError is an OSError
        kind = _timeout_kind(exc)
        return TransportTimeout(str(exc) or kind, kind=kind)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransportError(str(exc) or "ConnectError", kind="ConnectError")
    return TransportError(str(exc) or type(exc).__name__, kind=type(exc).__name__)


#: What the aiohttp calls raise besides ``TransportError`` (``ValueError``: e.g. an invalid URL).
_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


def dumps(obj: Any) -> bytes:
    """A request body as compact UTF-8 JSON (as httpx sent ``json=``)."""
    try:
        return orjson.dumps(obj)
    except TypeError:  # e.g. non-str keys or a too large int: the stdlib copes
        pass
    return _json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _encoding(headers: Mapping[str, str]) -> str:
    """The charset named by Content-Type, else UTF-8 (httpx's default)."""
    ctype = headers.get("content-type")
    if ctype and "charset=" in ctype:
        charset = ctype.split("charset=", 1)[1].split(";", 1)[0].strip().strip("\"'")
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"


_LINE_END = re.compile(r"\r\n|\r|\n")


class HTTPResponse:
    """A response: ``status_code``, case-insensitive ``headers``, and the body (read, or to stream)."""

    __slots__ = ("status_code", "headers", "path", "_content")

    def __init__(self, status_code: int, headers: CIMultiDictProxy[str], path: str, content: bytes | None = None):
        self.status_code = status_code
        self.headers = headers
        #: The request path (and query) relative to the client's base URL.
        self.path = path
        self._content = content

    def __repr__(self) -> str:
        return f"<HTTPResponse [{self.status_code}] {self.path}>"

    # -- read responses -----------------------------------------------------------------------------
    @property
    def content(self) -> bytes:
        if self._content is None:
            raise RuntimeError("the body of a streaming response has not been read; await aread() first")
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode(_encoding(self.headers), "replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` / ``json.JSONDecodeError``)."""
        content = self.content
        try:
            return orjson.loads(content)
        except ValueError:
            pass  # the stdlib's verdict (and error message) decides
        return _json.loads(content)

    # -- streaming ----------------------------------------------------------------------------------
    async def aread(self) -> bytes:
        """Read (the rest of) the body."""
        if self._content is None:
            self._content = await self._read_body()
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives (undecoded when the response was opened with ``decompress=False``)."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        async for chunk in self._body_chunks():
            yield chunk

    # what a response still on the wire provides (raising TransportError, never a library's own errors)
    async def _read_body(self) -> bytes:
        raise RuntimeError("this response has no body left to read")

    def _body_chunks(self) -> AsyncIterator[bytes]:
        raise RuntimeError("this response has no body left to read")

    #: httpx's name for :meth:`aiter_bytes` on a response opened with ``decompress=False``.
    aiter_raw = aiter_bytes

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body as text lines without their line ends.

        Lines end with LF, CRLF or CR only (the NDJSON and event-stream rules): a JSON line may hold U+2028,
        NEL or a form feed raw, which ``str.splitlines`` would wrongly cut.
        """
        decoder = codecs.getincrementaldecoder(_encoding(self.headers))("replace")
        pending = ""
        async for chunk in self.aiter_bytes():
            text = pending + decoder.decode(chunk)
            if not text:
                continue
            parts = _LINE_END.split(text)
            if text[-1] == "\r":  # may be the first half of CRLF: keep that line open
                pending = parts[-2] + "\r"
                del parts[-2:]
            else:
                pending = parts.pop()
            for line in parts:
                yield line
        text = pending + decoder.decode(b"", True)
        if text:
            parts = _LINE_END.split(text)
            if not parts[-1]:
                parts.pop()
            for line in parts:
                yield line

    async def aclose(self) -> None:
        """Release the connection (closing it when the body was not read to the end)."""


class _AiohttpStream(HTTPResponse):
    """A response whose body is still on the wire (an ``aiohttp.ClientResponse``)."""

    __slots__ = ("_resp",)

    def __init__(self, resp: aiohttp.ClientResponse, path: str) -> None:
        super().__init__(resp.status, resp.headers, path)
        self._resp = resp

    async def _read_body(self) -> bytes:
        try:
            return await self._resp.read()
        except _ERRORS as exc:
            raise _transport_error(exc) from exc

    async def _body_chunks(self) -> AsyncIterator[bytes]:
        stream = self._resp.content
        try:
            while True:
                chunk = await stream.readany()
                if not chunk:
                    break
                yield chunk
        except _ERRORS as exc:
            raise _transport_error(exc) from exc

    async def aclose(self) -> None:
        # A body read to its end already gave the connection back to the pool; otherwise this closes it, and one
        # turn of the loop lets the transport really close the socket, so the upstream sees the end at once
        # (even when the caller blocks the loop next).
        resp = self._resp
        if resp.connection is None:
            resp.close()
            return
        resp.close()
        await asyncio.sleep(0)
