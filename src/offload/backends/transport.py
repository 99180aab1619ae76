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
import functools
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
from yarl import URL

from offload.backends.transport_response import (
    _ERRORS,
    HTTPResponse,
    TransportError,
    TransportTimeout,
    _AiohttpStream,
    _transport_error,
    dumps,
)

__all__ = ["HTTPClient", "HTTPResponse", "TransportError", "TransportTimeout", "make_client"]

_JSON_TYPE = "application/json"
#: Longest response header line / field accepted (aiohttp's default is 8190; httpx allowed far more).
_MAX_HEADER = 65536
#: Seconds an idle pooled connection is kept (httpx's default keep-alive expiry).
_KEEPALIVE_S = 5.0
#: At most this many distinct request URLs are kept parsed.
_URL_CACHE = 512


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
        from offload.backends.transport_httpx import _HttpxTransportClient

        return _HttpxTransportClient(base_url, transport=transport, **kw)
    return HTTPClient(base_url, **kw)
