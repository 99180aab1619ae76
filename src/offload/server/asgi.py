"""Minimal raw-ASGI plumbing for the gateway: requests, JSON responses, and cancellable streaming.

The gateway is a plain ASGI app (no framework on the hot path): one dict lookup routes a request, bodies are
read with a size limit, and every handler runs next to a watcher that notices a client disconnect and
cancels the handler (which closes the engine's stream, which cancels the upstream call).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from offload.dialects.common import dumps
from offload.errors import InvalidRequest

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class PayloadTooLarge(InvalidRequest):
    """The request body is larger than the gateway accepts."""

    code = "request_too_large"
    http_status = 413


class UnsupportedMediaType(InvalidRequest):
    """The request body is not JSON."""

    code = "unsupported_media_type"
    http_status = 415


class ClientDisconnected(Exception):
    """The client went away while its request was running."""


class Request:
    """One HTTP request as the handlers see it."""

    __slots__ = ("scope", "receive", "send", "method", "path", "t0", "dialect", "_headers", "_body", "response_headers")

    def __init__(self, scope: Scope, receive: Receive, send: Send, dialect: str) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.t0: float = scope.get("offload.t0") or time.perf_counter()
        self.dialect = dialect
        self._headers: dict[str, str] | None = None
        self._body: bytes | None = None
        self.response_headers: list[tuple[bytes, bytes]] = []

    @property
    def headers(self) -> dict[str, str]:
        """Request headers, lower-cased names (repeated headers joined with ``,``)."""
        if self._headers is None:
            h: dict[str, str] = {}
            for k, v in self.scope["headers"]:
                name = k.decode("latin-1").lower()
                val = v.decode("latin-1")
                h[name] = f"{h[name]},{val}" if name in h else val
            self._headers = h
        return self._headers

    @property
    def query(self) -> str:
        return self.scope.get("query_string", b"").decode("latin-1")

    async def body(self) -> bytes:
        """The whole body (the security middleware has already capped its size)."""
        if self._body is None:
            chunks: list[bytes] = []
            more = True
            while more:
                msg = await self.receive()
                if msg["type"] == "http.disconnect":
                    raise ClientDisconnected()
                chunks.append(msg.get("body", b""))
                more = msg.get("more_body", False)
            self._body = b"".join(chunks)
        return self._body

    def overhead_header(self, backend_s: float = 0.0) -> tuple[bytes, bytes]:
        ms = max(0.0, (time.perf_counter() - self.t0 - backend_s) * 1000.0)
        return (b"x-offload-overhead-ms", f"{ms:.3f}".encode())


def _headers(content_type: str, length: int | None, extra: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = [(b"content-type", content_type.encode())]
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    out.extend(extra)
    return out


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _headers(content_type, len(body), headers)})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, obj: Any, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send_bytes(send, status, dumps(obj), "application/json", headers)


#: How long a request runs before its client is watched for a disconnect (see :func:`run_until_disconnect`).
#: 50 ms: at 32 concurrent requests most answers of a fast upstream take longer than 10 ms (queueing), and a
#: watcher per request cost ~5 % of the throughput; a client leaving a generation is still noticed within 50 ms.
WATCH_AFTER_S = 0.05


async def run_until_disconnect(receive: Receive, work: Awaitable[Any]) -> Any:
    """Await ``work`` in the current task; if the client disconnects first, cancel it and raise
    :class:`ClientDisconnected`.

    A small watcher task waits for ``http.disconnect`` and cancels this task only while ``work`` is still
    running (the flag is set before this task can be suspended again, so a finished request is never hit by a
    late cancellation). The watcher starts only once the work has run for :data:`WATCH_AFTER_S`: most answers
    from a fast upstream are done sooner and never pay for it, and a client that leaves a long generation is
    still noticed within that much. Running ``work`` here rather than in a task of its own saves a task and an
    ``asyncio.wait`` per request. Call only after the request body was read completely (the watcher consumes
    ``receive``).
    """
    task = asyncio.current_task()
    assert task is not None, "run_until_disconnect needs a running task"
    state = {"gone": False, "finished": False}
    loop = asyncio.get_running_loop()
    watchers: list[asyncio.Task[None]] = []

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not state["finished"]:
            state["gone"] = True
            task.cancel()

    def start_watching() -> None:
        if not state["finished"]:
            watchers.append(loop.create_task(watch()))

    timer = loop.call_later(WATCH_AFTER_S, start_watching)
    try:
        result = await work
        state["finished"] = True
        return result
    except asyncio.CancelledError:
        state["finished"] = True
        if state["gone"]:
            task.uncancel()
            raise ClientDisconnected() from None
        raise
    except BaseException:
        state["finished"] = True
        raise
    finally:
        timer.cancel()
        for watcher in watchers:
            watcher.cancel()


#: A stream's buffered bytes beyond which a writer waits for the client to take them (backpressure).
_MAX_BUFFERED = 64 * 1024


class StreamSink:
    """Writes a streaming response: headers once, then chunks.

    Chunks written while the producer keeps running (a burst of events already received from upstream) are
    coalesced: :meth:`write` only buffers, and the buffer is sent as ONE body message as soon as the producer
    waits for more (a callback scheduled on the loop runs only then). So a burst costs one socket write, not
    one per event, and a lone event is sent as soon as the producer yields — no timer, no added latency.
    """

    def __init__(self, send: Send, media_type: str, headers: list[tuple[bytes, bytes]]) -> None:
        self._send = send
        self.media_type = media_type
        self.headers = headers
        self.started = False
        self._buf: list[bytes] = []
        self._size = 0
        self._scheduled = False
        self._flusher: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def start(self, status: int = 200) -> None:
        if not self.started:
            self.started = True
            hdrs = [
                (b"content-type", self.media_type.encode()),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
                *self.headers,
            ]
            await self._send({"type": "http.response.start", "status": status, "headers": hdrs})

    async def write(self, data: bytes) -> None:
        if not data:
            return
        if self._error is not None:
            raise self._error
        if not self.started:
            await self.start()
        self._buf.append(data)
        self._size += len(data)
        if self._size >= _MAX_BUFFERED:
            await self._drain()
        elif not self._scheduled and self._flusher is None:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._kick)

    def _kick(self) -> None:
        self._scheduled = False
        if self._buf and self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._buf:
                body = b"".join(self._buf)
                self._buf.clear()
                self._size = 0
                await self._send({"type": "http.response.body", "body": body, "more_body": True})
        except BaseException as exc:  # surfaced by the next write / close
            self._error = exc
        finally:
            self._flusher = None

    async def _drain(self) -> None:
        """Wait until everything buffered has been handed to the server."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        if self._buf and self._error is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
            await asyncio.shield(self._flusher)
        if self._error is not None:
            raise self._error

    async def close(self) -> None:
        await self.start()
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        if self._error is not None:
            raise self._error
        body = b"".join(self._buf)  # the last burst and the end of the body in one message
        self._buf.clear()
        self._size = 0
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


async def aiter_close(it: AsyncIterator[Any]) -> None:
    """Close an async iterator if it can be closed (cancels the engine's upstream stream)."""
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:
            pass
