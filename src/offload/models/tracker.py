"""A cached, time-stamped view of what is loaded: the router's ``loaded=`` input and the anti-thrash rule's ages.

Ollama's ``ps`` says *what* is loaded but not *since when*; :class:`ResidencyTracker` remembers when it first
saw each model resident (or loaded it itself) and when a request last used it, and refreshes ``ps`` at most
every ``ttl_s`` seconds so routing a request costs no extra round trip most of the time::

    tracker = ResidencyTracker(ModelManager.from_engine(engine))
    route = plan_route(profile, config, health=board, loaded=await tracker.loaded())
    decision = decide(list(c.model for c in route.candidates), await tracker.residents(), budget_gb, now=time.time())
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from offload.errors import OffloadError
from offload.models.ops import ModelManager
from offload.models.residency import Resident, loaded_names, residents_from_ps
from offload.types import ModelInfo


class ResidencyTracker:
    """Residents with load and use times; ``ps`` is cached for ``ttl_s`` seconds. Never raises on a down backend."""

    def __init__(self, manager: ModelManager, *, ttl_s: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self.manager = manager
        self.ttl_s = ttl_s
        self._clock = clock
        self._infos: list[ModelInfo] = []
        self._fetched_at: float | None = None
        self._first_seen: dict[str, float] = {}
        self._last_used: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def residents(self) -> list[Resident]:
        """What is loaded now, with ``loaded_at`` / ``last_used`` filled in where known."""
        async with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self.ttl_s:
                try:
                    self._infos = await self.manager.ps_raw()
                except OffloadError:
                    self._infos = []
                self._fetched_at = now
                current = residents_from_ps(self._infos, self.manager.config.models, now=now)
                names = {r.name for r in current}
                for name in names - set(self._first_seen):
                    self._first_seen[name] = now
                for name in set(self._first_seen) - names:
                    del self._first_seen[name]
            return residents_from_ps(
                self._infos, self.manager.config.models, now=now, loaded_at=self._first_seen, last_used=self._last_used
            )

    async def loaded(self) -> set[str]:
        """Names of the resident models (pass as ``plan_route(..., loaded=...)``)."""
        return loaded_names(await self.residents())

    def cached(self) -> set[str]:
        """The resident names from the last ``ps`` seen (no I/O; empty before the first look)."""
        return loaded_names(residents_from_ps(self._infos, self.manager.config.models, now=self._clock()))

    def note_used(self, name: str) -> None:
        """A request just ran on ``name``."""
        self._last_used[name] = self._clock()

    def note_loaded(self, name: str) -> None:
        """``name`` was just loaded (by ``offload load`` or a request): it is protected from now on."""
        now = self._clock()
        self._first_seen[name] = now
        self._last_used[name] = now
        self._fetched_at = None  # refresh ps on the next look

    def invalidate(self) -> None:
        """Forget the cached ``ps`` answer."""
        self._fetched_at = None


__all__ = ["ResidencyTracker"]
