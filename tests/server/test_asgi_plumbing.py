"""The raw-ASGI plumbing: stream coalescing, backpressure and disconnect handling."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from offload.server.asgi import ClientDisconnected, StreamSink, run_until_disconnect


class Recorder:
    """An ASGI ``send`` that records messages (optionally slow, like a client not reading)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[dict[str, Any]] = []
        self.delay = delay

    async def __call__(self, msg: dict[str, Any]) -> None:
        if self.delay and msg["type"] == "http.response.body":
            await asyncio.sleep(self.delay)
        self.messages.append(msg)

    @property
    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.messages if m["type"] == "http.response.body"]


async def test_a_burst_is_sent_as_one_body_message() -> None:
    rec = Recorder()
    sink = StreamSink(rec, "text/event-stream", [])
    for i in range(5):  # written without yielding: one burst
        await sink.write(f"data: {i}\n\n".encode())
    assert rec.bodies == []  # nothing sent while the producer keeps running
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert rec.bodies == [b"".join(f"data: {i}\n\n".encode() for i in range(5))]
    await sink.close()
    assert rec.messages[0]["type"] == "http.response.start"
    assert rec.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_lone_event_goes_out_as_soon_as_the_producer_waits() -> None:
    rec = Recorder()
    sink = StreamSink(rec, "text/event-stream", [])
    await sink.write(b"data: 1\n\n")
    await asyncio.sleep(0.01)  # the producer waits for upstream
    assert rec.bodies == [b"data: 1\n\n"]
    await sink.write(b"data: 2\n\n")
    await sink.close()  # the last burst rides with the end of the body
    assert rec.bodies == [b"data: 1\n\n", b"data: 2\n\n"]
    assert rec.messages[-1]["more_body"] is False


async def test_order_is_kept_while_a_slow_client_drains() -> None:
    rec = Recorder(delay=0.005)
    sink = StreamSink(rec, "text/event-stream", [])
    for i in range(50):
        await sink.write(b"x" * 4096 + str(i).encode())
        if i % 7 == 0:
            await asyncio.sleep(0)
    await sink.close()
    assert b"".join(rec.bodies) == b"".join(b"x" * 4096 + str(i).encode() for i in range(50))


async def test_send_errors_surface_on_the_next_write() -> None:
    async def broken(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.body":
            raise OSError("client gone")

    sink = StreamSink(broken, "text/event-stream", [])
    await sink.write(b"a")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    with pytest.raises(OSError):
        await sink.write(b"b")


async def test_disconnect_cancels_the_work_and_raises() -> None:
    gone = asyncio.Event()
    cancelled = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def work() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    asyncio.get_running_loop().call_later(0.01, gone.set)
    with pytest.raises(ClientDisconnected):
        await run_until_disconnect(receive, work())
    assert cancelled.is_set()
    await asyncio.sleep(0.01)  # the task is usable afterwards: no stray cancellation pending


async def test_finished_work_is_never_hit_by_a_late_disconnect() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}  # the client is already gone when the watcher first looks

    async def work() -> int:
        return 42  # completes without suspending

    assert await run_until_disconnect(receive, work()) == 42
    await asyncio.sleep(0.01)  # would raise CancelledError here if a late cancel had landed


async def test_a_quick_request_never_starts_the_watcher() -> None:
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def work() -> str:
        await asyncio.sleep(0)  # suspends, but finishes well within WATCH_AFTER_S
        return "done"

    assert await run_until_disconnect(receive, work()) == "done"
    await asyncio.sleep(0.03)
    assert calls == 0
