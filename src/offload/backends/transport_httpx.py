"""A test seam: :class:`HTTPClient` over an httpx transport (``httpx.ASGITransport(app=...)`` serves in-process).

httpx is imported only here, when a backend is given ``transport=``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from offload.backends.transport import HTTPClient
from offload.backends.transport_response import HTTPResponse, TransportError, TransportTimeout


class _HttpxStream(HTTPResponse):
    """A streaming response of :class:`_HttpxTransportClient`."""

    __slots__ = ("_resp", "_raw")

    def __init__(self, resp: Any, path: str, raw: bool) -> None:
        super().__init__(resp.status_code, CIMultiDictProxy(CIMultiDict(resp.headers.multi_items())), path)
        self._resp = resp
        self._raw = raw

    async def _read_body(self) -> bytes:
        try:
            return bytes(await self._resp.aread())
        except Exception as exc:
            raise _httpx_error(exc) from exc

    async def _body_chunks(self) -> AsyncIterator[bytes]:
        chunks = self._resp.aiter_raw() if self._raw else self._resp.aiter_bytes()
        try:
            async for chunk in chunks:
                yield chunk
        except Exception as exc:
            raise _httpx_error(exc) from exc

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
