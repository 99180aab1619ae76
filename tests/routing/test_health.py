"""Circuit breaker: closed → open → half-open (one probe) → closed, with a hand-driven clock."""

from __future__ import annotations

import asyncio
import threading

from offload.routing.health import BackendHealth, BreakerBoard, CircuitBreaker, StaticHealth
from offload.routing.policy_config import BreakerConfig, PolicyConfig


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def _breaker(clock: Clock, **kw: object) -> CircuitBreaker:
    settings = BreakerConfig(**{"failures_to_open": 3, "base_cooldown_s": 2.0, "max_cooldown_s": 10.0, **kw})
    return CircuitBreaker("ollama", settings, clock)


def test_opens_after_n_consecutive_failures() -> None:
    clock = Clock()
    b = _breaker(clock)
    b.record_failure("timeout")
    b.record_failure("timeout")
    assert b.state == "closed" and b.allow()
    b.record_success()  # a success resets the count
    b.record_failure("timeout")
    b.record_failure("timeout")
    assert b.state == "closed"
    b.record_failure("timeout")
    assert b.state == "open"
    assert not b.allow()
    snap = b.snapshot()
    assert snap.state == "open" and snap.retry_in_s == 2.0 and snap.last_error == "timeout" and not snap.available


def test_refused_connection_opens_at_once_when_configured() -> None:
    clock = Clock()
    b = _breaker(clock)
    b.record_failure("refused", hard=True)
    assert b.state == "open"
    lenient = _breaker(clock, open_on_unavailable=False)
    lenient.record_failure("refused", hard=True)
    assert lenient.state == "closed"


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    b = _breaker(clock, failures_to_open=1)
    b.record_failure()
    clock.advance(1.9)
    assert not b.allow()
    clock.advance(0.2)
    assert b.allow()  # the probe
    assert b.state == "half_open"
    assert not b.allow() and not b.allow()  # everyone else waits for the probe
    b.record_success()
    assert b.state == "closed" and b.allow() and b.allow()


def test_failed_probe_reopens_with_growing_cooldown_up_to_max() -> None:
    clock = Clock()
    b = _breaker(clock, failures_to_open=1)
    b.record_failure()
    cooldowns = []
    for _ in range(5):
        cooldowns.append(b.snapshot().retry_in_s)
        clock.advance(100)
        assert b.allow()
        b.record_failure("still down")
        assert b.state == "open"
    assert cooldowns == [2.0, 4.0, 8.0, 10.0, 10.0]
    # success after recovery resets the growth
    clock.advance(100)
    assert b.allow()
    b.record_success()
    b.record_failure()
    assert b.snapshot().retry_in_s == 2.0


def test_released_or_stale_probe_lets_another_through() -> None:
    clock = Clock()
    b = _breaker(clock, failures_to_open=1, probe_timeout_s=5.0)
    b.record_failure()
    clock.advance(2)
    assert b.allow()
    b.release()  # the probe was cancelled: no verdict
    assert b.state == "half_open" and b.snapshot().available
    assert b.allow()
    assert not b.allow()
    clock.advance(5)  # the probe never reported
    assert b.allow()


def test_failures_while_open_keep_the_cooldown() -> None:
    clock = Clock()
    b = _breaker(clock, failures_to_open=1)
    b.record_failure()
    clock.advance(1)
    b.record_failure("late failure of a request started before")
    assert b.snapshot().retry_in_s == 1.0


def test_board_keeps_one_breaker_per_backend() -> None:
    clock = Clock()
    board = BreakerBoard.from_policy(PolicyConfig(breaker=BreakerConfig(failures_to_open=1)), clock=clock)
    assert board.allow("a") and board.allow("b")
    board.record_failure("a", "down")
    assert not board.allow("a") and board.allow("b")
    snap = board.snapshot()
    assert snap["a"].state == "open" and snap["b"].state == "closed"
    assert board.health_of("zzz") is None
    assert board.next_retry_in() == 2.0
    clock.advance(2)
    assert board.next_retry_in() == 0.0


def test_board_is_thread_safe_single_probe() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1), clock=clock)
    board.record_failure("x")
    clock.advance(10)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            ok = board.allow("x")
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


async def test_board_single_probe_across_asyncio_tasks() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1), clock=clock)
    board.record_failure("x")
    clock.advance(10)

    async def one() -> bool:
        await asyncio.sleep(0)
        return board.allow("x")

    got = await asyncio.gather(*(one() for _ in range(50)))
    assert sum(got) == 1


def test_static_health_view() -> None:
    view = StaticHealth({"a": BackendHealth("a", state="open", retry_in_s=3.0)})
    assert view.health_of("a") is not None and not view.health_of("a").available  # type: ignore[union-attr]
    assert view.health_of("b") is None
    assert BackendHealth("c", state="open", retry_in_s=0.0).available
