"""offload's own small HTTP client for the HTTP backends, on top of :mod:`aiohttp`.

:class:`HTTPClient` keeps one keep-alive pool (an ``aiohttp.ClientSession``) per client. The session is created
lazily inside the running event loop and re-created when the loop changes (the sync API runs its own loop
thread; tests use several loops). Every failure below HTTP is raised as :class:`TransportError`, timeouts as
:class:`TransportTimeout`, so the backends never see aiohttp's exception types.

* :meth:`HTTPClient.request` sends a request and returns an :class:`HTTPResponse` whose body is fully read (the
  connection is back in the pool).
* :meth:`HTTPClient.open` (and the context manager :meth:`HTTPClient.stream`) returns the response once its
  headers arrive; read it with ``aiter_bytes()`` / ``aiter_lines()`` / ``aread()`` and ``aclose()`` it. Opened
  with ``decompress=False``, ``aiter_bytes()`` yields the bytes exactly as the upstream sent them.

Timeouts follow httpx's ``Timeout(timeout_s, connect=connect_timeout_s)``: ``connect_timeout_s`` to get a
connection, ``timeout_s`` between two reads (including the wait for the response headers).

Redirects are not followed and no cookies are kept; proxies come from the ``HTTP(S)_PROXY`` / ``ALL_PROXY`` /
``NO_PROXY`` environment and CA certificates from ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` or ``certifi`` (as httpx
did).
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import json as _json
import os
import ssl
import threading
import urllib.request
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

__all__ = ["HTTPClient", "HTTPResponse", "TransportError", "TransportTimeout", "make_client"]

_JSON_TYPE = "application/json"
#: Longest response header line / field accepted (aiohttp's default is 8190; httpx allowed far more).
_MAX_HEADER = 65536
#: Seconds an idle pooled connection is kept (httpx's default keep-alive expiry).
_KEEPALIVE_S = 5.0
#: At most this many distinct request URLs are kept parsed.
_URL_CACHE = 512


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


_NEWLINES = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


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
        return self.content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives (undecoded when the response was opened with ``decompress=False``)."""
        if self._content:
            yield self._content

    #: httpx's name for :meth:`aiter_bytes` on a response opened with ``decompress=False``.
    aiter_raw = aiter_bytes

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body as text lines without their line ends (the rules of ``str.splitlines``, as httpx)."""
        decoder = codecs.getincrementaldecoder(_encoding(self.headers))("replace")
        buffer = ""
        trailing_cr = False
        async for chunk in self.aiter_bytes():
            text = decoder.decode(chunk)
            if trailing_cr:
                text = "\r" + text
                trailing_cr = False
            if text.endswith("\r"):  # may be the first half of \r\n: keep it for the next chunk
                trailing_cr = True
                text = text[:-1]
            if not text:
                continue
            lines = text.splitlines()
            if text[-1] in _NEWLINES:
                if buffer:
                    lines[0] = buffer + lines[0]
                    buffer = ""
            else:
                last = lines.pop()
                if lines:
                    if buffer:
                        lines[0] = buffer + lines[0]
                    buffer = last
                else:
                    buffer += last
            for line in lines:
                yield line
        text = decoder.decode(b"", True)
        if text:  # an incomplete character at the very end
            if trailing_cr:
                text = "\r" + text
                trailing_cr = False
            lines = text.splitlines()
            if buffer:
                lines[0] = buffer + lines[0]
                buffer = ""
            if text[-1] not in _NEWLINES:
                buffer = lines.pop()
            for line in lines:
                yield line
        if buffer or trailing_cr:
            yield buffer

    async def aclose(self) -> None:
        """Release the connection (closing it when the body was not read to the end)."""


class _AiohttpStream(HTTPResponse):
    """A response whose body is still on the wire (an ``aiohttp.ClientResponse``)."""

    __slots__ = ("_resp",)

    def __init__(self, resp: aiohttp.ClientResponse, path: str) -> None:
        super().__init__(resp.status, resp.headers, path)
        self._resp = resp

    async def aread(self) -> bytes:
        if self._content is None:
            try:
                self._content = await self._resp.read()
            except _ERRORS as exc:
                raise _transport_error(exc) from exc
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        if self._content is not None:
            if self._content:
                yield self._content
            return
        stream = self._resp.content
        try:
            while True:
                chunk = await stream.readany()
                if not chunk:
                    break
                yield chunk
        except _ERRORS as exc:
            raise _transport_error(exc) from exc

    aiter_raw = aiter_bytes

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


def _env_proxy(base_url: str) -> str | None:
    """The proxy httpx would have used for ``base_url`` (``*_PROXY`` / ``NO_PROXY``), when it is an HTTP one."""
    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    parts = urlsplit(base_url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.netloc, proxies):  # type: ignore[attr-defined]
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    return proxy if proxy.startswith(("http://", "https://")) else None


def _ssl_context() -> ssl.SSLContext:
    """Verification as httpx did it: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, else certifi's CAs."""
    return _ssl_context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _ssl_context_for(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile and os.path.isfile(cafile):
        return ssl.create_default_context(cafile=cafile)
    if capath and os.path.isdir(capath):
        return ssl.create_default_context(capath=capath)
    try:
        import certifi
    except ImportError:  # pragma: no cover - httpx (a dependency) needs certifi
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _close_quietly(session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close a session whose loop does not run here, so aiohttp never reports it unclosed (no awaiting)."""
    if session.closed:
        return

    def close() -> None:  # holds ``session`` until its connector is closed
        connector = session.connector
        if connector is not None and not connector.closed:
            try:
                connector._close()  # the synchronous part of close(); tolerates a closed loop
            except Exception:
                pass

    if loop is not None and loop.is_running() and not loop.is_closed():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            try:
                loop.call_soon_threadsafe(close)  # on its own loop's thread
                return
            except RuntimeError:  # closed meanwhile
                pass
    close()


class HTTPClient:
    """One base URL, default headers, timeouts and a keep-alive pool, over ``aiohttp``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 256,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.headers = dict(headers or {})
        self.max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s, sock_read=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finalizer: weakref.finalize | None = None
        self._urls: dict[str, URL] = {}
        self._lock = threading.Lock()
        self._https = self.base_url.startswith("https:")
        proxy = _env_proxy(self.base_url)
        self._send_kw: dict[str, Any] = {"allow_redirects": False}
        if proxy:
            self._send_kw["proxy"] = proxy

    def __repr__(self) -> str:
        return f"<HTTPClient {self.base_url}>"

    # -- the session --------------------------------------------------------------------------------
    def _session_here(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop:
            return session
        return self._new_session(loop)

    def _new_session(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        with self._lock:
            self._discard()
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=0,
                ttl_dns_cache=60,
                keepalive_timeout=_KEEPALIVE_S,
                force_close=False,
                ssl=_ssl_context() if self._https else True,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                headers=self.headers,
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Content-Type",),
                max_line_size=_MAX_HEADER,
                max_field_size=_MAX_HEADER,
            )
            self._session, self._loop = session, loop
            # A client dropped without aclose() closes its pool quietly (aiohttp would log "Unclosed ...").
            self._finalizer = weakref.finalize(self, _close_quietly, session, loop)
            return session

    def _discard(self) -> None:
        """Forget the current session (of another loop, or closed) without awaiting anything."""
        if self._finalizer is not None:
            self._finalizer()  # closes the old session (on its own loop when that still runs)
            self._finalizer = None
        self._session = self._loop = None

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _URL_CACHE:
                self._urls.clear()
            url = self._urls[path] = URL(self.base_url + path)
        return url

    def _timeout_for(self, timeout: float | None) -> aiohttp.ClientTimeout:
        if timeout is None:
            return self._timeout
        return aiohttp.ClientTimeout(total=None, connect=self.connect_timeout_s, sock_read=timeout)

    async def _send(
        self,
        method: str,
        path: str,
        json: Any,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        timeout: float | None,
        decompress: bool,
    ) -> aiohttp.ClientResponse:
        if json is not None:
            content = dumps(json)
            if headers is None:
                headers = {"Content-Type": _JSON_TYPE}
            elif "content-type" not in headers and "Content-Type" not in headers:
                headers = {**headers, "Content-Type": _JSON_TYPE}
        session = self._session_here()
        kw = self._send_kw
        if params is not None:
            kw = {**kw, "params": params}
        if timeout is not None:
            kw = {**kw, "timeout": self._timeout_for(timeout)}
        if not decompress:
            kw = {**kw, "auto_decompress": False}
        try:
            return await session.request(method, self._url(path), data=content, headers=headers, **kw)
        except _ERRORS as exc:
            raise _transport_error(exc) from exc

    # -- API ----------------------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> HTTPResponse:
        """Send a request and read the whole answer (any status). ``timeout`` overrides the read timeout."""
        resp = await self._send(method, path, json, content, params, headers, timeout, True)
        try:
            body = await resp.read()
        except _ERRORS as exc:
            raise _transport_error(exc) from exc
        return HTTPResponse(resp.status, resp.headers, path, body)

    async def open(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        decompress: bool = True,
    ) -> HTTPResponse:
        """Send a request and return the response once its headers arrived; the caller must ``aclose()`` it.

        With ``decompress=False`` the body is passed on exactly as sent (ask for ``accept-encoding: identity``
        too, unless the caller wants the encoded bytes).
        """
        resp = await self._send(method, path, json, content, params, headers, timeout, decompress)
        return _AiohttpStream(resp, path)

    @asynccontextmanager
    async def stream(self, method: str, path: str, **kw: Any) -> AsyncIterator[HTTPResponse]:
        """:meth:`open` as a context manager that closes the response on exit."""
        resp = await self.open(method, path, **kw)
        try:
            yield resp
        finally:
            await resp.aclose()

    async def aclose(self) -> None:
        """Close the pool (idempotent). A later request opens a new one."""
        session, loop = self._session, self._loop
        if session is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is running:
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
            self._session = self._loop = None
            await session.close()
        else:
            with self._lock:
                self._discard()


class _HttpxStream(HTTPResponse):
    """A streaming response of :class:`_HttpxTransportClient`."""

    __slots__ = ("_resp", "_raw")

    def __init__(self, resp: Any, path: str, raw: bool) -> None:
        super().__init__(resp.status_code, CIMultiDictProxy(CIMultiDict(resp.headers.multi_items())), path)
        self._resp = resp
        self._raw = raw

    async def aread(self) -> bytes:
        if self._content is None:
            try:
                self._content = await self._resp.aread()
            except Exception as exc:
                raise _httpx_error(exc) from exc
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        if self._content is not None:
            if self._content:
                yield self._content
            return
        chunks = self._resp.aiter_raw() if self._raw else self._resp.aiter_bytes()
        try:
            async for chunk in chunks:
                yield chunk
        except Exception as exc:
            raise _httpx_error(exc) from exc

    aiter_raw = aiter_bytes

    async def aclose(self) -> None:
        await self._resp.aclose()


def _httpx_error(exc: Exception) -> Exception:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return TransportTimeout(str(exc) or type(exc).__name__, kind=type(exc).__name__)
    if isinstance(exc, httpx.TransportError):
        return TransportError(str(exc) or type(exc).__name__, kind=type(exc).__name__)
    return exc


class _HttpxTransportClient(HTTPClient):
    """The same client over an httpx transport (a test seam: ``httpx.ASGITransport(app=...)`` serves in-process).

    httpx is imported only here, when a backend is given ``transport=``.
    """

    def __init__(self, base_url: str, *, transport: Any, **kw: Any) -> None:
        import httpx

        super().__init__(base_url, **kw)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            headers=self.headers,
            timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
        )

    def _kw(self, json: Any, content: bytes | None, params: Any, headers: Any, timeout: float | None) -> dict[str, Any]:
        import httpx

        kw: dict[str, Any] = {"json": json, "content": content, "params": params, "headers": headers}
        if timeout is not None:
            kw["timeout"] = httpx.Timeout(timeout, connect=self.connect_timeout_s)
        return kw

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> HTTPResponse:
        try:
            resp = await self._client.request(method, path, **self._kw(json, content, params, headers, timeout))
        except Exception as exc:
            raise _httpx_error(exc) from exc
        return HTTPResponse(
            resp.status_code, CIMultiDictProxy(CIMultiDict(resp.headers.multi_items())), path, resp.content
        )

    async def open(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        decompress: bool = True,
    ) -> HTTPResponse:
        try:
            req = self._client.build_request(method, path, **self._kw(json, content, params, headers, timeout))
            resp = await self._client.send(req, stream=True)
        except Exception as exc:
            raise _httpx_error(exc) from exc
        return _HttpxStream(resp, path, raw=not decompress)

    async def aclose(self) -> None:
        await self._client.aclose()


def make_client(
    base_url: str,
    *,
    timeout_s: float,
    connect_timeout_s: float,
    headers: Mapping[str, str] | None = None,
    max_connections: int = 256,
    transport: Any = None,
) -> HTTPClient:
    """An :class:`HTTPClient`; with ``transport`` (an httpx async transport, for tests) one that sends through it."""
    kw: dict[str, Any] = {
        "timeout_s": timeout_s,
        "connect_timeout_s": connect_timeout_s,
        "headers": headers,
        "max_connections": max_connections,
    }
    if transport is not None:
        return _HttpxTransportClient(base_url, transport=transport, **kw)
    return HTTPClient(base_url, **kw)
