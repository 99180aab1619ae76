"""Live events for the dashboard: an in-process pub/sub fed by polling the journal.

The engine has no event hook, so :class:`EventHub` watches the journal instead, which sees every request of
every process that writes it (the gateway, the CLI, the MCP server): every ``interval_s`` (250 ms) it reads

- the rows created in the last ``lookback_s`` seconds (through the ``created_at`` index; the lookback catches
  rows committed late by another process), and
- the rows it knows are still ``pending`` (primary-key lookups), with their attempt counts,

and publishes a ``request`` event for each row that is new or whose status, ``updated_at`` or number of
attempts changed. Other parts of the dashboard publish their own events (``pull`` progress). The poller runs
only while someone is subscribed. A subscriber that falls more than ``queue_size`` events behind is sent a
single ``resync`` event and should reload its list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offload.errors import OffloadError
from offload.store.entries import JournalEntry
from offload.store.journal import Journal

log = logging.getLogger("offload.dashboard")

Row = tuple[str, float, int]  # (status, updated_at, attempts)


@dataclass(frozen=True)
class Event:
    """One published event: its kind (``request``, ``pull``, ``resync``) and a JSON-able payload."""

    kind: str
    data: dict[str, Any]


class Subscription:
    """A subscriber's queue; use as an async context manager, then ``await sub.get()``."""

    def __init__(self, hub: EventHub, size: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self._overflowed = False

    def put(self, event: Event) -> None:
        if self._overflowed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._overflowed = True

    async def get(self) -> Event:
        """The next event (a ``resync`` event after an overflow)."""
        if self._overflowed and self._queue.empty():
            self._overflowed = False
            return Event("resync", {})
        return await self._queue.get()

    def close(self) -> None:
        self._hub._unsubscribe(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class JournalWatcher:
    """Finds journal rows that are new or changed since the last look (blocking; run it in a thread)."""

    def __init__(self, journal: Journal, *, lookback_s: float = 2.0, clock: Callable[[], float] = time.time) -> None:
        self.journal = journal
        self.lookback_s = lookback_s
        self._clock = clock
        self._cursor = clock()
        self._seen: dict[str, tuple[Row, float]] = {}  # id -> (row state, created_at)

    def changed(self) -> list[JournalEntry]:
        """Entries created or changed since the previous call (oldest first)."""
        now = self._clock()
        since = self._cursor - self.lookback_s
        rows = {
            r["id"]: (r["status"], r["updated_at"], r["created_at"])
            for r in self.journal.query(
                "SELECT id, status, updated_at, created_at FROM requests WHERE created_at >= ? "
                "ORDER BY created_at LIMIT 1000",
                (since,),
            )
        }
        pending = [i for i, (state, _) in self._seen.items() if state[0] == "pending" and i not in rows]
        for i in range(0, len(pending), 500):
            chunk = pending[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.journal.query(
                f"SELECT id, status, updated_at, created_at FROM requests WHERE id IN ({marks})", tuple(chunk)
            ):
                rows[r["id"]] = (r["status"], r["updated_at"], r["created_at"])
        counts: dict[str, int] = {}
        live = [i for i, (status, _, _) in rows.items() if status == "pending" or i not in self._seen]
        for i in range(0, len(live), 500):
            chunk = live[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.journal.query(
                f"SELECT request_id, COUNT(*) AS n FROM attempts WHERE request_id IN ({marks}) GROUP BY request_id",
                tuple(chunk),
            ):
                counts[r["request_id"]] = int(r["n"])
        changed: list[tuple[float, str]] = []
        for rid, (status, updated, created) in rows.items():
            old = self._seen.get(rid)
            n = counts.get(rid, old[0][2] if old else 0)
            state: Row = (status, updated, n)
            if old is None or old[0] != state:
                changed.append((created, rid))
            self._seen[rid] = (state, created)
        self._cursor = now
        self._seen = {i: v for i, v in self._seen.items() if v[0][0] == "pending" or v[1] >= since}
        out = []
        for _, rid in sorted(changed):
            with contextlib.suppress(OffloadError):
                out.append(self.journal.get(rid))
        return out


class EventHub:
    """Fan-out of dashboard events to every live subscriber (one hub per dashboard, one event loop)."""

    def __init__(
        self,
        journal: Journal,
        to_payload: Callable[[JournalEntry], dict[str, Any]],
        *,
        interval_s: float = 0.25,
        lookback_s: float = 2.0,
        queue_size: int = 1000,
    ) -> None:
        self.journal = journal
        self.interval_s = interval_s
        self.lookback_s = lookback_s
        self.queue_size = queue_size
        self._to_payload = to_payload
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self) -> Subscription:
        """A new subscription; starts the journal poller when it is the first one."""
        sub = Subscription(self, self.queue_size)
        self._subs.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll(), name="offload-dashboard-events")
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)
        if not self._subs and self._task is not None:
            self._task.cancel()
            self._task = None

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send an event to every subscriber (never blocks)."""
        ev = Event(kind, data)
        for sub in list(self._subs):
            sub.put(ev)

    async def _poll(self) -> None:
        watcher = JournalWatcher(self.journal, lookback_s=self.lookback_s)
        failing = False
        while self._subs:
            try:
                entries = await asyncio.to_thread(watcher.changed)
            except OffloadError as exc:  # a locked or closed journal: keep trying (slower), say so once
                if not failing:
                    log.warning("dashboard: cannot read the journal (live updates paused): %s", exc)
                failing = True
                await asyncio.sleep(max(1.0, self.interval_s))
                continue
            failing = False
            for entry in entries:
                self.publish("request", self._to_payload(entry))
            await asyncio.sleep(self.interval_s)

    async def aclose(self) -> None:
        """Stop the poller (subscribers see no more events)."""
        task, self._task = self._task, None
        self._subs.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
