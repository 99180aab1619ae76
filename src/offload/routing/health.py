"""Backend health: a circuit breaker per backend, so a dead backend costs one fast failure, not a timeout per request.

States::

    closed ──N consecutive failures (or one refused connection)──▶ open
    open ──cooldown elapsed──▶ half_open: exactly ONE probe request is let through
    half_open ──probe succeeds──▶ closed          half_open ──probe fails──▶ open (cooldown doubles, capped)

The clock is injectable (tests drive time by hand). Every method takes a plain :class:`threading.Lock` for a
few field updates and never awaits, so the board is safe to share between threads and asyncio tasks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from offload.routing.policy_config import BreakerConfig, PolicyConfig

BreakerState = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]


@dataclass(frozen=True)
class BackendHealth:
    """A snapshot of one backend's breaker, for routing decisions and health views."""

    backend: str
    state: BreakerState = "closed"
    consecutive_failures: int = 0
    #: How many times in a row the breaker opened (drives the growing cooldown).
    trips: int = 0
    #: Seconds until a probe is allowed (0 when one may go now); ``None`` when closed.
    retry_in_s: float | None = None
    last_error: str | None = None

    @property
    def available(self) -> bool:
        """False while the breaker is open and cooling down (routing skips the backend)."""
        return self.state == "closed" or bool(self.retry_in_s is not None and self.retry_in_s <= 0)


class HealthView(Protocol):
    """What :func:`offload.routing.policy.plan_route` needs to know about backend health."""

    def health_of(self, backend: str) -> BackendHealth | None: ...


class StaticHealth:
    """A fixed health view (tests, ``offload route`` with a saved snapshot)."""

    def __init__(self, states: Mapping[str, BackendHealth]) -> None:
        self._states = dict(states)

    def health_of(self, backend: str) -> BackendHealth | None:
        return self._states.get(backend)


class CircuitBreaker:
    """The breaker of one backend."""

    def __init__(self, name: str, settings: BreakerConfig | None = None, clock: Clock = time.monotonic) -> None:
        self.name = name
        self.settings = settings or BreakerConfig()
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._trips = 0
        self._opened_at = 0.0
        self._cooldown = 0.0
        self._probe_started: float | None = None
        self._last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        return self._state

    def _cooldown_for(self, trips: int) -> float:
        s = self.settings
        return min(s.max_cooldown_s, s.base_cooldown_s * (2 ** max(0, trips - 1)))

    def allow(self) -> bool:
        """May a request go to this backend now? In ``half_open`` only one caller gets ``True``."""
        with self._lock:
            now = self._clock()
            if self._state == "closed":
                return True
            if self._state == "open":
                if now - self._opened_at < self._cooldown:
                    return False
                self._state = "half_open"
                self._probe_started = now
                return True
            # half_open: one probe at a time; a probe that never reported is replaced after probe_timeout_s
            if self._probe_started is not None and now - self._probe_started < self.settings.probe_timeout_s:
                return False
            self._probe_started = now
            return True

    def record_success(self) -> None:
        """The backend answered: close the breaker and forget past failures."""
        with self._lock:
            self._state = "closed"
            self._failures = 0
            self._trips = 0
            self._probe_started = None

    def record_failure(self, error: str | None = None, *, hard: bool = False) -> None:
        """The backend failed. ``hard`` (a refused connection) opens at once when the settings say so."""
        with self._lock:
            now = self._clock()
            self._last_error = error
            self._failures += 1
            if (
                self._state == "half_open"
                or self._state == "closed"
                and (self._failures >= self.settings.failures_to_open or (hard and self.settings.open_on_unavailable))
            ):
                self._open(now)
            # already open: a request that started before the breaker opened; keep the current cooldown

    def release(self) -> None:
        """Give back a half-open probe slot without a verdict (the call was cancelled or never made)."""
        with self._lock:
            if self._state == "half_open":
                self._probe_started = None

    def _open(self, now: float) -> None:
        self._trips += 1
        self._state = "open"
        self._opened_at = now
        self._cooldown = self._cooldown_for(self._trips)
        self._probe_started = None

    def snapshot(self) -> BackendHealth:
        with self._lock:
            retry = None
            if self._state == "open":
                retry = max(0.0, self._cooldown - (self._clock() - self._opened_at))
            elif self._state == "half_open":
                retry = 0.0 if self._probe_started is None else None
            return BackendHealth(
                backend=self.name, state=self._state, consecutive_failures=self._failures, trips=self._trips,
                retry_in_s=retry, last_error=self._last_error,
            )  # fmt: skip


class BreakerBoard:
    """One :class:`CircuitBreaker` per backend name, created on first use. Implements :class:`HealthView`."""

    def __init__(self, settings: BreakerConfig | None = None, clock: Clock = time.monotonic) -> None:
        self.settings = settings or BreakerConfig()
        self.clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}

    @classmethod
    def from_policy(cls, policy: PolicyConfig, clock: Clock = time.monotonic) -> BreakerBoard:
        return cls(policy.breaker, clock)

    def breaker(self, backend: str) -> CircuitBreaker:
        with self._lock:
            b = self._breakers.get(backend)
            if b is None:
                b = self._breakers[backend] = CircuitBreaker(backend, self.settings, self.clock)
            return b

    def allow(self, backend: str) -> bool:
        return self.breaker(backend).allow()

    def record_success(self, backend: str) -> None:
        self.breaker(backend).record_success()

    def record_failure(self, backend: str, error: str | None = None, *, hard: bool = False) -> None:
        self.breaker(backend).record_failure(error, hard=hard)

    def release(self, backend: str) -> None:
        self.breaker(backend).release()

    def health_of(self, backend: str) -> BackendHealth | None:
        with self._lock:
            b = self._breakers.get(backend)
        return b.snapshot() if b is not None else None

    def snapshot(self) -> dict[str, BackendHealth]:
        """Every known backend's breaker state (unknown backends are healthy)."""
        with self._lock:
            breakers = list(self._breakers.values())
        return {b.name: b.snapshot() for b in breakers}

    def next_retry_in(self) -> float | None:
        """Seconds until the soonest open breaker may probe (``offload replay --watch`` waits this long)."""
        waits = [h.retry_in_s for h in self.snapshot().values() if h.state == "open" and h.retry_in_s is not None]
        return min(waits) if waits else None


__all__ = ["BackendHealth", "BreakerBoard", "BreakerState", "CircuitBreaker", "HealthView", "StaticHealth"]
