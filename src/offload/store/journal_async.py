"""The ``a``-prefixed coroutine twins of :class:`~offload.store.journal.Journal`'s API.

:class:`AsyncJournal` is a mixin that ``Journal`` inherits: every write twin awaits the writer's future without
blocking the event loop (shielded, so a cancelled caller never cancels a write already on its way to disk);
every read twin runs the sync read in a worker thread. Nothing here talks to SQLite itself: the sync API in
:mod:`offload.store.journal` does, and this module only schedules it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel

from offload.store.db import JournalError
from offload.store.entries import JournalEntry
from offload.types import Attempt, Usage

if TYPE_CHECKING:
    from offload.store.journal import Journal
    from offload.store.ops import OpBuilder
    from offload.store.retention import PruneReport
    from offload.store.writer import Writer

T = TypeVar("T")
Entries = list[JournalEntry]  # (``Journal.list`` shadows the builtin inside the class body)
Values = list[str]


class AsyncJournal:
    """Coroutine twins of the journal's API; mixed into :class:`~offload.store.journal.Journal`."""

    if TYPE_CHECKING:  # provided by Journal (declared for the type checker only; no runtime cost)
        _ops: OpBuilder
        _writer: Writer

        def _check(self) -> None: ...
        def _submit(self, op: Callable[[sqlite3.Connection], T], *, urgent: bool = True) -> Future[T]: ...
        def get(self, request_id: str) -> JournalEntry: ...
        def list(self, *args: Any, **kwargs: Any) -> Entries: ...
        def for_replay(self, which: str, limit: int | None = None) -> Entries: ...
        def integrity_check(self) -> str: ...
        def distinct_values(self, column: str, limit: int = 100) -> Values: ...
        def close(self) -> None: ...

    async def _await(self, fut: Future[T]) -> T:
        wrapped = asyncio.wrap_future(fut)
        try:
            # shielded: a cancelled caller must not cancel a write that may already be on its way to disk
            return await asyncio.shield(wrapped)
        except asyncio.CancelledError:
            wrapped.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise

    async def abegin(
        self,
        request: Mapping[str, Any] | BaseModel,
        *,
        source: str,
        model_requested: str,
        dialect: str | None = None,
        client: str | None = None,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
        status: str = "pending",
        inline: bool = False,
    ) -> str:
        """:meth:`begin` for the event loop; if the caller is cancelled meanwhile the row becomes ``cancelled``.

        ``inline=True``: when the writer is idle, commit right here (blocking the loop for one fsync, but sparing
        two thread hand-offs) — for a caller that knows it is the only request in flight.
        """
        op = self._ops.begin(
            request, source=source, model_requested=model_requested, dialect=dialect, client=client,
            kind=kind, headers=headers, status=status,
        )  # fmt: skip
        if inline:
            self._check()
            done = self._writer.try_inline(op)
            if done is not None:
                return done.result()
        fut = self._submit(op)
        try:
            return await self._await(fut)
        except asyncio.CancelledError:
            fut.add_done_callback(self._cancel_orphan)
            raise

    def _cancel_orphan(self, fut: Future[str]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        with contextlib.suppress(JournalError):
            self._submit(self._ops.status(fut.result(), "cancelled"))

    async def arecord_attempt(
        self, request_id: str, attempt: Attempt, *, cost_equiv_usd: float | None = None, local: bool | None = None
    ) -> None:
        """:meth:`record_attempt` for the event loop."""
        await self._await(self._submit(self._ops.attempt(request_id, attempt, cost_equiv_usd, local)))

    async def afinish(
        self,
        request_id: str,
        *,
        status: str,
        response: Mapping[str, Any] | BaseModel | None = None,
        error: Mapping[str, Any] | None = None,
        usage: Usage | None = None,
        model: str | None = None,
        backend: str | None = None,
        verdict: str | None = None,
        route: Mapping[str, Any] | None = None,
        local: bool | None = None,
        avoided_usd: float | None = None,
        reference_model: str | None = None,
        partial_output: str | None = None,
    ) -> None:
        """:meth:`finish` for the event loop."""
        op = self._ops.finish(
            request_id, status=status, response=response, error=error, usage=usage, model=model, backend=backend,
            verdict=verdict, route=route, local=local, avoided_usd=avoided_usd, reference_model=reference_model,
            partial_output=partial_output,
        )  # fmt: skip
        await self._await(self._submit(op))

    async def amark_status(self, request_id: str, status: str) -> None:
        """:meth:`mark_status` for the event loop."""
        await self._await(self._submit(self._ops.status(request_id, status)))

    async def alink_replay(self, original_id: str, new_id: str) -> None:
        """:meth:`link_replay` for the event loop."""
        await self._await(self._submit(self._ops.link(original_id, new_id)))

    async def aprune(
        self,
        older_than_s: float,
        *,
        statuses: set[str] | frozenset[str] | None = None,
        dry_run: bool = False,
        vacuum: bool = False,
        batch_size: int = 500,
    ) -> PruneReport:
        """:meth:`prune` in a worker thread; a cancelled caller stops it after the batch in flight."""
        from offload.store import retention

        journal = cast("Journal", self)  # (this mixin is only ever a Journal)
        return await retention.aprune(
            journal, older_than_s, statuses=statuses, dry_run=dry_run, vacuum=vacuum, batch_size=batch_size
        )

    async def aget(self, request_id: str) -> JournalEntry:
        """:meth:`get` in a worker thread."""
        return await asyncio.to_thread(self.get, request_id)

    async def alist(self, **filters: Any) -> Entries:
        """:meth:`list` in a worker thread (same keyword filters)."""
        return await asyncio.to_thread(lambda: self.list(**filters))

    async def afor_replay(self, which: str, limit: int | None = None) -> Entries:
        """:meth:`for_replay` in a worker thread."""
        return await asyncio.to_thread(self.for_replay, which, limit)

    async def aintegrity_check(self) -> str:
        """:meth:`integrity_check` in a worker thread."""
        return await asyncio.to_thread(self.integrity_check)

    async def aclose(self) -> None:
        """:meth:`close` in a worker thread."""
        await asyncio.to_thread(self.close)

    async def adistinct_values(self, column: str, limit: int = 100) -> Values:
        """:meth:`distinct_values` in a worker thread."""
        return await asyncio.to_thread(self.distinct_values, column, limit)
