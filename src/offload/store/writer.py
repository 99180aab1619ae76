"""The journal's single writer thread, with group commit.

Callers hand the writer small write operations (functions of a connection). The writer takes every
operation waiting in its queue, runs them in ONE ``BEGIN IMMEDIATE … COMMIT`` transaction — each inside its
own savepoint, so one failing operation never undoes another — and only then resolves each caller's future.
So a caller returns only after its own row is durable, while N concurrent callers share one fsync.

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

    def __init__(self, path: Path, *, max_batch: int = 256) -> None:
        self._path = path
        self._max_batch = max(1, max_batch)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn = connect(path)
        self.stats = WriterStats()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="offload-journal-writer", daemon=True)
        self._thread.start()

    def submit(self, op: WriteOp) -> Future[Any]:
        """Queue ``op``; the future resolves with its result once its transaction has committed."""
        fut: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise JournalError("the journal is closed", hint="open a new Journal to write again")
            self._queue.put((op, fut))
        return fut

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
        stopping = False
        while not stopping:
            item = self._queue.get()
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
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[tuple[WriteOp, Future[Any]]]) -> None:
        live = [(op, fut) for op, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        conn = self._conn
        for attempt in range(5):
            results: list[tuple[Future[Any], Any, BaseException | None]] = []
            try:
                retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
                for op, fut in live:
                    conn.execute("SAVEPOINT op")
                    try:
                        value = op(conn)
                    except Exception as exc:
                        conn.execute("ROLLBACK TO op")
                        conn.execute("RELEASE op")
                        results.append((fut, None, exc))
                    else:
                        conn.execute("RELEASE op")
                        results.append((fut, value, None))
                retry_busy(lambda: conn.execute("COMMIT"))
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if is_busy(exc) and attempt < 4:
                    time.sleep(0.01 * (attempt + 1))
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
