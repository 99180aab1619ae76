"""The journal's single writer thread, with group commit.

Callers hand the writer small write operations (functions of a connection). The writer takes every
operation waiting in its queue, runs them in ONE ``BEGIN IMMEDIATE … COMMIT`` transaction — each inside its
own savepoint, so one failing operation never undoes another — and only then resolves each caller's future.
So a caller returns only after its own row is durable, while N concurrent callers share one fsync.

Operations submitted with ``urgent=False`` (attempts and outcomes nobody waits for) go to a side list that
does not wake the writer thread: they ride along with the next transaction (urgent or inline), or are
committed once ``linger_s`` (50 ms) after the first of them was queued. Waking a thread costs ~0.1 ms on
some VMs — more than the SQL — so a request's attempt and outcome cost no wake-up at all; the prompt rows
themselves are always urgent, so they are durable before anything is sent.

:meth:`Writer.try_inline` commits an operation in the caller's own thread when the writer is idle (nothing
queued, no transaction running): a lone request then pays its fsync without two thread hand-offs. Callers use
it only when they are the only request in flight, since it blocks their thread (an event loop) for the fsync.

With ``max_batch=1`` every operation gets its own transaction (the baseline the benchmark compares with).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offload.store.db import JournalError, connect, is_busy, retry_busy

WriteOp = Callable[[sqlite3.Connection], Any]

_STOP = object()
_TICK = object()  # "a lazy op is waiting": starts the writer's linger clock


class _Isolate(Exception):
    """An op failed in an optimistic batch: run the batch again with one savepoint per op."""


@dataclass
class WriterStats:
    """Counters of one writer: operations done, transactions committed, the largest batch."""

    ops: int = 0
    commits: int = 0
    max_batch: int = 0

    @property
    def mean_batch(self) -> float:
        return self.ops / self.commits if self.commits else 0.0


class Writer:
    """Owns the one write connection of a :class:`~offload.store.journal.Journal` in this process."""

    def __init__(self, path: Path, *, max_batch: int = 256, linger_s: float = 0.05) -> None:
        self._path = path
        self._max_batch = max(1, max_batch)
        self._linger_s = linger_s if self._max_batch > 1 else 0.0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn = connect(path)
        self.stats = WriterStats()
        self._closed = False
        self._lock = threading.Lock()
        #: Non-urgent ops waiting for a transaction to ride on (guarded by ``_lock``).
        self._lazy: list[tuple[WriteOp, Future[Any]]] = []
        #: True while the writer thread has been told (one _TICK) that lazy ops wait; cleared when it commits them.
        self._armed = False
        #: Held while a transaction runs, by the writer thread or by an inline caller.
        self._busy = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="offload-journal-writer", daemon=True)
        self._thread.start()

    def submit(self, op: WriteOp, *, urgent: bool = True) -> Future[Any]:
        """Queue ``op``; the future resolves with its result once its transaction has committed.

        ``urgent=False``: nobody is waiting, so the op may wait up to ``linger_s`` to share a later commit.
        """
        fut: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise JournalError("the journal is closed", hint="open a new Journal to write again")
            if urgent or not self._linger_s:
                self._queue.put((op, fut))
            else:
                self._lazy.append((op, fut))
                if not self._armed:
                    self._armed = True
                    self._queue.put(_TICK)
        return fut

    def _take_lazy(self, disarm: bool = False) -> list[tuple[WriteOp, Future[Any]]]:
        with self._lock:
            taken, self._lazy = self._lazy, []
            if disarm:
                self._armed = False
        return taken

    def try_inline(self, op: WriteOp) -> Future[Any] | None:
        """Commit ``op`` now, in this thread, if the writer is idle; ``None`` (nothing done) if it is not.

        Lazy ops waiting for a ride commit in the same transaction. The returned future is already resolved
        (with the op's result or its error).
        """
        if not self._queue.empty() or not self._busy.acquire(blocking=False):
            return None
        try:
            with self._lock:
                if self._closed:
                    raise JournalError("the journal is closed", hint="open a new Journal to write again")
            fut: Future[Any] = Future()
            self._commit([*self._take_lazy(), (op, fut)])
            return fut
        finally:
            self._busy.release()

    def run_exclusive(self, fn: WriteOp) -> Any:
        """Run ``fn(conn)`` on the write connection outside any transaction (``VACUUM``, checkpoints), while
        this process's other writes wait."""
        with self._busy:
            return fn(self._conn)

    def close(self) -> None:
        """Finish every queued operation, then stop the thread and close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()
        self._conn.close()

    # -- the thread ----------------------------------------------------------------------------------------
    def _run(self) -> None:
        deadline: float | None = None  # when the lazy ops must be committed
        stopping = False
        while not stopping:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:  # the linger is over: commit the lazy ops
                deadline = None
                with self._busy:
                    self._commit(self._take_lazy(disarm=True))
                continue
            if item is _TICK:
                if deadline is None:
                    deadline = time.monotonic() + self._linger_s
                continue
            if item is _STOP:
                break
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                if nxt is _TICK:
                    if deadline is None:
                        deadline = time.monotonic() + self._linger_s
                    continue
                batch.append(nxt)
            with self._busy:
                self._commit([*self._take_lazy(), *batch])
        with self._busy:
            self._commit(self._take_lazy(disarm=True))

    def _commit(self, batch: list[tuple[WriteOp, Future[Any]]]) -> None:
        if not batch:
            return
        live = [(op, fut) for op, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        conn = self._conn
        # Optimistic first: the ops run back to back; only if one fails is the batch rolled back and run again
        # with each op in its own savepoint (so one bad op never undoes the others). Savepoints cost two
        # statements per op, and ops almost never fail.
        isolate = False
        attempt = 0
        while True:
            results: list[tuple[Future[Any], Any, BaseException | None]] = []
            try:
                retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
                for op, fut in live:
                    if isolate:
                        conn.execute("SAVEPOINT op")
                    try:
                        value = op(conn)
                    except Exception as exc:
                        if not isolate:
                            raise _Isolate() from exc
                        conn.execute("ROLLBACK TO op")
                        conn.execute("RELEASE op")
                        results.append((fut, None, exc))
                    else:
                        if isolate:
                            conn.execute("RELEASE op")
                        results.append((fut, value, None))
                retry_busy(lambda: conn.execute("COMMIT"))
            except _Isolate:
                conn.execute("ROLLBACK")
                isolate = True
                continue
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if is_busy(exc) and attempt < 4:
                    attempt += 1
                    time.sleep(0.01 * attempt)
                    continue
                for _, fut in live:
                    fut.set_exception(exc)
                return
            except BaseException as exc:  # pragma: no cover - e.g. MemoryError inside sqlite3
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                for _, fut in live:
                    fut.set_exception(exc)
                return
            self.stats.ops += len(live)
            self.stats.commits += 1
            self.stats.max_batch = max(self.stats.max_batch, len(live))
            for fut, value, error in results:
                if error is None:
                    fut.set_result(value)
                else:
                    fut.set_exception(error)
            return
