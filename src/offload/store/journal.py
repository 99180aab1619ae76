"""The journal: every request is written durably BEFORE it is sent, so nothing is lost and failures replay.

``begin`` commits a redacted ``pending`` row and only then returns its id; ``finish`` stores the outcome,
usage and price in one transaction; a process that dies leaves ``pending`` rows, which the next
:class:`Journal` opened on the file marks ``interrupted`` (only when their owning process is really gone).

Writes go through one writer thread per process with group commit (see :mod:`offload.store.writer`), so
many concurrent callers share an fsync and none ever sees "database is locked". Every method has an
``a``-prefixed coroutine twin (in :mod:`offload.store.journal_async`) that awaits the commit, or runs the read in a
worker thread, without blocking the event loop.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from offload.redact import Redactor, default_redactor
from offload.store import reads
from offload.store.db import JournalError, Owner, connect, current_owner, init_lock, owner_is_dead, retry_busy
from offload.store.entries import JournalEntry
from offload.store.journal_async import AsyncJournal, Entries, Values
from offload.store.migrations import migrate
from offload.store.ops import OpBuilder
from offload.store.reads import TimeLike
from offload.store.writer import Writer, WriterStats
from offload.types import Attempt, Usage

if TYPE_CHECKING:  # retention imports the ledger, which imports this module: imported where used
    from offload.store.retention import PruneReport

T = TypeVar("T")
Rows = list[sqlite3.Row]

#: How many forks this process has been through (bumped in the child): a journal opened before a fork reconnects
#: in the child. Asking ``os.getpid()`` on every write instead costs a system call each.
_forks_seen = [0]


def _after_fork() -> None:
    _forks_seen[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

_FINISH_KEYS = (
    "status", "response", "error", "usage", "model", "backend", "verdict", "route", "local", "avoided_usd",
    "reference_model", "partial_output",
)  # fmt: skip


def _finish_args(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of :meth:`Journal.finish`, defaulted; an unknown one is a TypeError like a bad call."""
    unknown = set(outcome) - set(_FINISH_KEYS)
    if unknown or "status" not in outcome:
        raise TypeError(f"finish() got unexpected or missing keywords: {sorted(unknown) or ['status']}")
    return {k: outcome.get(k) for k in _FINISH_KEYS}


_INTERRUPTED_ERROR = json.dumps(
    {"code": "interrupted", "message": "the offload process handling this request stopped before it finished"}
)


def recover_interrupted(conn: sqlite3.Connection) -> int:
    """Mark ``pending`` rows whose owning process is dead as ``interrupted``; returns how many were marked."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        owners = conn.execute(
            "SELECT DISTINCT owner_host, owner_boot, owner_pid, owner_start FROM requests WHERE status = 'pending'"
        ).fetchall()
        marked = 0
        now = time.time()
        for host, boot, pid, start in owners:
            if pid is None or not owner_is_dead(Owner(host or "", boot or "", int(pid), start)):
                continue
            cur = conn.execute(
                "UPDATE requests SET status = 'interrupted', updated_at = ?, error_json = COALESCE(error_json, ?) "
                "WHERE status = 'pending' AND owner_host IS ? AND owner_boot IS ? AND owner_pid = ? "
                "AND owner_start IS ?",
                (now, _INTERRUPTED_ERROR, host, boot, pid, start),
            )
            marked += cur.rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return marked


class Journal(AsyncJournal):
    """Durable, redacted record of every request (thread- and multi-process safe).

    ``redactor`` defaults to the process-wide one (which knows the configured secrets).
    ``group_commit=False`` gives every write its own transaction (for benchmarks and debugging).
    ``recovered`` tells how many pending rows of dead processes were marked ``interrupted`` on open.
    """

    def __init__(
        self, path: Path | str, redactor: Redactor | None = None, *, group_commit: bool = True, max_batch: int = 256
    ) -> None:
        self.path = Path(path).expanduser()
        self._redactor = redactor or default_redactor()
        self._max_batch = max_batch if group_commit else 1
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.recovered = self._initialise()
        except sqlite3.Error as exc:
            raise JournalError(
                f"cannot open the journal {self.path}: {exc}",
                hint="check that the file is an offload journal on a local disk and its directory is writable",
            ) from exc
        except OSError as exc:
            raise JournalError(
                f"cannot create the journal directory {self.path.parent}: {exc}",
                hint="set [defaults] journal_path (or OFFLOAD_HOME) to a writable place",
            ) from exc
        self._connect()

    def _initialise(self) -> int:
        with init_lock(self.path):
            conn = connect(self.path)
            try:
                mode = retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
                if str(mode).lower() != "wal":
                    raise JournalError(
                        f"the journal {self.path} cannot use WAL mode (got {mode!r})",
                        hint="put the journal on a local disk (not a network share)",
                    )
                migrate(conn)
                return recover_interrupted(conn)
            finally:
                conn.close()

    def _connect(self) -> None:
        self._forks = _forks_seen[0]
        self._ops = OpBuilder(self._redactor, current_owner())
        self._writer = Writer(self.path, max_batch=self._max_batch)
        self._reader = connect(self.path, readonly=True)
        self._reader.row_factory = sqlite3.Row
        self._read_lock = threading.Lock()

    def _check(self) -> None:
        if self._closed:
            raise JournalError("the journal is closed", hint="open a new Journal to use it again")
        if _forks_seen[0] != self._forks:  # forked: the parent's connections and thread are not ours to use
            self._connect()

    def _submit(self, op: Callable[[sqlite3.Connection], T], *, urgent: bool = True) -> Future[T]:
        self._check()
        return self._writer.submit(op, urgent=urgent)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._check()
        with self._read_lock:
            try:
                return fn(self._reader)
            except sqlite3.Error as exc:
                raise JournalError(
                    f"cannot read the journal {self.path}: {exc}", hint="run `offload journal check`"
                ) from exc

    def exclusive(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the write connection outside a transaction (maintenance such as ``VACUUM``)."""
        self._check()
        return self._writer.run_exclusive(fn)

    @property
    def writer_stats(self) -> WriterStats:
        """Counters of this process's writer (ops, commits, batch sizes)."""
        return self._writer.stats

    # -- writes --------------------------------------------------------------------------------------------
    def begin(
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
    ) -> str:
        """Redact and durably commit a new request row; returns its time-ordered id (a ULID)."""
        op = self._ops.begin(
            request, source=source, model_requested=model_requested, dialect=dialect, client=client,
            kind=kind, headers=headers, status=status,
        )  # fmt: skip
        return self._submit(op).result()

    def record_attempt(
        self, request_id: str, attempt: Attempt, *, cost_equiv_usd: float | None = None, local: bool | None = None
    ) -> None:
        """Store one attempt (idempotent per ``attempt.n``).

        ``cost_equiv_usd`` is the attempt priced at its model's cloud rate (0 or None for local models);
        ``local`` says where it ran — when None it is inferred as local iff that cost is 0 or None.
        """
        self._submit(self._ops.attempt(request_id, attempt, cost_equiv_usd, local)).result()

    def finish(
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
        """Store the outcome of a request in one transaction (everything redacted).

        ``avoided_usd`` is what the answer would have cost on ``reference_model``; the ledger counts it as
        saved only for ``local`` answers whose ``verdict`` is ``"verified"``.
        """
        op = self._ops.finish(
            request_id, status=status, response=response, error=error, usage=usage, model=model, backend=backend,
            verdict=verdict, route=route, local=local, avoided_usd=avoided_usd, reference_model=reference_model,
            partial_output=partial_output,
        )  # fmt: skip
        self._submit(op).result()

    def mark_status(self, request_id: str, status: str) -> None:
        """Set a row's status (e.g. ``queued`` → ``pending`` when a replay picks it up)."""
        self._submit(self._ops.status(request_id, status)).result()

    def link_replay(self, original_id: str, new_id: str) -> None:
        """Record that request ``new_id`` is a replay of ``original_id``."""
        self._submit(self._ops.link(original_id, new_id)).result()

    def queue_attempt(
        self, request_id: str, attempt: Attempt, *, cost_equiv_usd: float | None = None, local: bool | None = None
    ) -> Future[None]:
        """:meth:`record_attempt` without waiting: prepared (and validated) now, committed with the next write
        that is waited for, or within the writer's linger (50 ms). The future resolves once it is durable."""
        return self._submit(self._ops.attempt(request_id, attempt, cost_equiv_usd, local), urgent=False)

    def queue_finish(self, request_id: str, **outcome: Any) -> Future[None]:
        """:meth:`finish` (same keywords) without waiting, like :meth:`queue_attempt`."""
        return self._submit(self._ops.finish(request_id, **_finish_args(outcome)), urgent=False)

    def prune(
        self,
        older_than_s: float,
        *,
        statuses: set[str] | frozenset[str] | None = None,
        dry_run: bool = False,
        vacuum: bool = False,
        batch_size: int = 500,
    ) -> PruneReport:
        """Delete finished rows (and their attempts) created more than ``older_than_s`` seconds ago.

        ``statuses`` narrows ``ok`` / ``error`` / ``cancelled`` / ``interrupted``; ``pending`` and ``queued``
        rows, and rows a kept replay points at, are never deleted. Each batch of ``batch_size`` rows is one
        transaction that also rolls their ledger figures up, so savings totals stay whole. ``dry_run`` only
        counts; ``vacuum`` runs ``VACUUM`` afterwards. See :mod:`offload.store.retention`.
        """
        from offload.store import retention

        return retention.prune(
            self, older_than_s, statuses=statuses, dry_run=dry_run, vacuum=vacuum, batch_size=batch_size
        )

    # -- reads ---------------------------------------------------------------------------------------------
    def get(self, request_id: str) -> JournalEntry:
        """One entry with its attempts; raises :class:`~offload.store.reads.UnknownJournalEntry` if absent."""
        return self._read(lambda c: reads.get(c, request_id))

    def list(
        self,
        status: str | None = None,
        source: str | None = None,
        model: str | None = None,
        kind: str | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
        dialect: str | None = None,
        client: str | None = None,
    ) -> Entries:
        """Entries matching every given filter, newest first (``model`` matches requested or used model).

        ``dialect`` (``openai``, ``anthropic``, ``ollama``, ``responses``) and ``client`` (``claude-code``,
        ``openai-python``, …) match exactly; :meth:`distinct_values` lists the values present.
        """
        return self._read(
            lambda c: reads.list_entries(
                c, status=status, source=source, model=model, kind=kind, since=since, until=until,
                search=search, limit=limit, offset=offset, dialect=dialect, client=client,
            )
        )  # fmt: skip

    def distinct_values(self, column: str, limit: int = 100) -> Values:
        """The distinct non-null values of one filterable column (see :data:`~offload.store.reads.DISTINCT_COLUMNS`),
        most used first; e.g. ``distinct_values("client")`` → ``["claude-code", "openai-python"]``."""
        return self._read(lambda c: reads.distinct_values(c, column, limit))

    def for_replay(self, which: str, limit: int | None = None) -> Entries:
        """``"failed"`` / ``"interrupted"`` / ``"queued"`` entries not replayed yet, oldest first."""
        return self._read(lambda c: reads.for_replay(c, which, limit))

    def integrity_check(self) -> str:
        """SQLite's integrity check: ``"ok"`` when the file is sound, else the problems found."""
        return self._read(reads.integrity_check)

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> Rows:
        """Run a read-only query (the connection refuses writes); used by the ledger."""
        return self._read(lambda c: c.execute(sql, args).fetchall())

    def close(self) -> None:
        """Commit whatever is queued, then close. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with self._read_lock:
            self._reader.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
