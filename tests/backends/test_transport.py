"""offload's HTTP client (``offload.backends.transport``) against a tiny loopback ASGI app."""

from __future__ import annotations

import asyncio
import gzip
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from offload.backends.transport import HTTPClient, HTTPResponse, TransportError, TransportTimeout
from tests.fakes.server import free_port, serve_app

PAYLOAD = b'{"hello": "world"}' * 50


class App:
    """Echo, gzip, slow, redirect and endless routes; records request headers and disconnects."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.disconnected = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path = scope["path"]
        if path == "/gzip":
            await self._answer(send, 200, gzip.compress(PAYLOAD), [(b"content-encoding", b"gzip")])
        elif path == "/redirect":
            await self._answer(send, 302, b"", [(b"location", b"/echo")])
        elif path == "/slow":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"first", "more_body": True})
            await asyncio.sleep(3)
            await send({"type": "http.response.body", "body": b"late"})
        elif path == "/endless":
            await send({"type": "http.response.start", "status": 200, "headers": []})

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                self.disconnected.set()

            watcher = asyncio.ensure_future(watch())
            while not watcher.done():
                await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": True})
                await asyncio.sleep(0.02)
        else:
            await self._answer(send, 200, body or b"{}", [(b"content-type", b"application/json")])

    @staticmethod
    async def _answer(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[App, str]]:
    app = App()
    with serve_app(app) as url:
        yield app, url


@pytest.fixture
async def client(served: tuple[App, str]) -> AsyncIterator[HTTPClient]:
    c = HTTPClient(served[1], timeout_s=1.0, connect_timeout_s=1.0, headers={"x-default": "yes"})
    yield c
    await c.aclose()


async def test_request_sends_json_and_default_headers(served: tuple[App, str], client: HTTPClient) -> None:
    resp = await client.request("POST", "/echo", json={"a": 1, "é": [1.5, None]}, headers={"x-extra": "1"})
    assert resp.status_code == 200 and resp.json() == {"a": 1, "é": [1.5, None]}
    assert resp.headers["Content-Type"] == "application/json" and resp.path == "/echo"
    sent = served[0].headers
    assert sent["content-type"] == "application/json" and sent["x-default"] == "yes" and sent["x-extra"] == "1"


async def test_redirects_are_not_followed(client: HTTPClient) -> None:
    resp = await client.request("GET", "/redirect")
    assert resp.status_code == 302 and resp.headers["location"] == "/echo"


async def test_read_responses_are_decompressed_but_raw_streams_are_not(
    served: tuple[App, str], client: HTTPClient
) -> None:
    assert (await client.request("GET", "/gzip")).content == PAYLOAD
    resp = await client.open("GET", "/gzip", headers={"accept-encoding": "identity"}, decompress=False)
    try:
        raw = b"".join([chunk async for chunk in resp.aiter_bytes()])
    finally:
        await resp.aclose()
    assert served[0].headers["accept-encoding"] == "identity"
    assert raw == gzip.compress(PAYLOAD) and gzip.decompress(raw) == PAYLOAD


async def test_timeouts_and_connection_errors_are_typed(client: HTTPClient) -> None:
    async with client.stream("GET", "/slow") as resp:
        chunks = resp.aiter_bytes()
        assert await anext(chunks) == b"first"
        with pytest.raises(TransportTimeout) as info:
            await anext(chunks)
    assert info.value.kind == "ReadTimeout"
    down = HTTPClient(f"http://127.0.0.1:{free_port()}", timeout_s=1.0, connect_timeout_s=1.0)
    with pytest.raises(TransportError) as err:
        await down.request("GET", "/")
    assert err.value.kind == "ConnectError" and not isinstance(err.value, TransportTimeout)
    await down.aclose()


async def test_closing_an_open_stream_closes_the_upstream_at_once(served: tuple[App, str], client: HTTPClient) -> None:
    served[0].disconnected.clear()
    resp = await client.open("GET", "/endless")
    lines = resp.aiter_lines()
    assert await anext(lines) == "data: x"
    await resp.aclose()
    assert served[0].disconnected.wait(5)  # blocks the loop: the socket must already be closed


def test_a_client_follows_the_running_loop_quietly(served: tuple[App, str], caplog: pytest.LogCaptureFixture) -> None:
    c = HTTPClient(served[1], timeout_s=1.0, connect_timeout_s=1.0)

    async def call() -> Any:
        return (await c.request("POST", "/echo", json={"n": 1})).json()

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        assert asyncio.run(call()) == {"n": 1}
        assert asyncio.run(call()) == {"n": 1}  # a new loop: a new pool, the old one closed without awaiting
        asyncio.run(c.aclose())
        dropped = HTTPClient(served[1], timeout_s=1.0, connect_timeout_s=1.0)
        asyncio.run(dropped.request("GET", "/echo"))
        del dropped  # never closed: its pool is closed when it is collected
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]


class _Chunks(HTTPResponse):
    __slots__ = ("chunks",)

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"a\nb", b"c\r", b"\nd\r\ne"], ["a", "bc", "d", "e"]),
        ([b"data: 1\n\n", b"data: 2\n", b"\n"], ["data: 1", "", "data: 2", ""]),
        ([b"x\r", b"\r", b"y"], ["x", "", "y"]),
        ([b"\xc3", b"\xa9t\xc3\xa9\n"], ["été"]),
        ([b"tail\r"], ["tail"]),
        ([b"cut \xc3"], ["cut \ufffd"]),
        ([b'{"a":"x\xe2\x80\xa8y\xc2\x85z\x0c"}\n', b"{}"], ['{"a":"x\u2028y\x85z\x0c"}', "{}"]),
        ([], []),
    ],
)
async def test_aiter_lines_splits_at_cr_lf_and_crlf_only(chunks: list[bytes], lines: list[str]) -> None:
    resp = _Chunks(200, CIMultiDictProxy(CIMultiDict()), "/")
    resp.chunks = chunks
    assert [line async for line in resp.aiter_lines()] == lines
