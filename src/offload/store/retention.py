"""Journal retention: delete finished rows older than a cutoff, keeping their ledger figures.

Rules (see docs/journal.md, "Retention"):

* only finished rows are pruned — ``ok``, ``error``, ``cancelled``, ``interrupted`` (or the subset asked for);
  ``pending`` rows (in flight) and ``queued`` rows (work waiting for a backend) never are;
* a row that a kept row's ``replay_of`` points at is kept too, so every kept replay still shows its original;
  chains are followed (an original goes only once all its replays have gone);
* each batch (500 rows by default) is ONE writer transaction that first adds the batch's ledger figures to
  ``ledger_rollup`` (per local day, kind and model) and then deletes the attempts and the rows — so savings
  reports keep their totals, and an interrupted prune loses or double-counts nothing;
* batches go through the journal's writer, so the gateway's writes interleave between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from offload.store.db import JournalError
from offload.store.ledger import rollup_statements

if TYPE_CHECKING:
    from offload.store.journal import Journal

log = logging.getLogger("offload.retention")

#: Statuses a prune may delete; ``pending`` and ``queued`` are never deleted.
PRUNABLE: frozenset[str] = frozenset({"ok", "error", "cancelled", "interrupted"})
NEVER_PRUNED: frozenset[str] = frozenset({"pending", "queued"})
DAY_S = 86_400.0
BATCH_SIZE = 500


@dataclass(frozen=True)
class PruneReport:
    """What a prune did (or, with ``dry_run``, would do)."""

    cutoff: datetime
    statuses: tuple[str, ...]
    dry_run: bool = False
    rows_deleted: int = 0
    attempts_deleted: int = 0
    #: Pages no longer used × page size (for a dry run: an estimate from the rows' sizes).
    bytes_freed: int = 0
    #: Matching rows kept because a kept row is a replay of them.
    kept_linked: int = 0
    oldest_remaining: datetime | None = None
    batches: int = 0
    #: False when the prune was stopped (cancelled) before it got through every matching row.
    complete: bool = True
    vacuumed: bool = False
    #: Size of the database (pages in use + free pages) afterwards.
    size_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_statuses(statuses: set[str] | frozenset[str] | None) -> tuple[str, ...]:
    """The statuses to prune, sorted; ``None`` means every finished status. Raises ValueError otherwise."""
    if statuses is None:
        return tuple(sorted(PRUNABLE))
    chosen = {str(s).strip() for s in statuses}
    if not chosen:
        raise ValueError("no status to prune given")
    if chosen & NEVER_PRUNED:
        raise ValueError(f"{', '.join(sorted(chosen & NEVER_PRUNED))} rows are never pruned")
    unknown = chosen - PRUNABLE
    if unknown:
        raise ValueError(f"unknown status {', '.join(sorted(unknown))}: choose from {', '.join(sorted(PRUNABLE))}")
    return tuple(sorted(chosen))


def _matching(statuses: tuple[str, ...], alias: str) -> str:
    """``created_at < :cutoff AND status IN (…)`` — the statuses are validated names, safe to inline."""
    listed = ", ".join(f"'{s}'" for s in statuses)
    return f"{alias}.created_at < :cutoff AND {alias}.status IN ({listed})"


def delete_batch(conn: sqlite3.Connection, cutoff: float, statuses: tuple[str, ...], limit: int) -> tuple[int, int]:
    """One batch, inside the writer's transaction: roll up, then delete. Returns (rows, attempts) deleted.

    Only rows that no other row is a replay of are taken; their originals qualify in a later batch.
    """
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT r.id FROM requests AS r WHERE {_matching(statuses, 'r')} "
            "AND NOT EXISTS (SELECT 1 FROM requests AS n WHERE n.replay_of = r.id) "
            "ORDER BY r.created_at, r.id LIMIT :limit",
            {"cutoff": cutoff, "limit": limit},
        )
    ]
    if not ids:
        return 0, 0
    batch = json.dumps(ids)
    for sql in rollup_statements():
        conn.execute(sql, (batch, time.time()))
    attempts = conn.execute("DELETE FROM attempts WHERE request_id IN (SELECT value FROM json_each(?))", (batch,))
    rows = conn.execute("DELETE FROM requests WHERE id IN (SELECT value FROM json_each(?))", (batch,))
    return rows.rowcount, attempts.rowcount


def _forecast(conn: sqlite3.Connection, cutoff: float, statuses: tuple[str, ...]) -> tuple[int, int, int, int]:
    """(rows, attempts, estimated bytes, kept because linked) a prune would give, from a read connection.

    A matching row is *blocked* when a row that will stay — one not matching, or itself blocked — is a
    replay of it: the same rule :func:`delete_batch` applies batch after batch.
    """
    blocked = (
        "WITH RECURSIVE blocked(id) AS ("
        f" SELECT n.replay_of FROM requests AS n WHERE n.replay_of IS NOT NULL AND NOT ({_matching(statuses, 'n')})"
        " UNION SELECT p.replay_of FROM requests AS p JOIN blocked AS b ON p.id = b.id"
        " WHERE p.replay_of IS NOT NULL), "
        f"doomed AS (SELECT r.id FROM requests AS r WHERE {_matching(statuses, 'r')}"
        " AND r.id NOT IN (SELECT id FROM blocked WHERE id IS NOT NULL)) "
    )
    size = " + ".join(
        f"COALESCE(length(CAST({c} AS BLOB)), 0)"
        for c in ("request_json", "headers_json", "response_json", "error_json", "route_json", "partial_output")
    )
    row = conn.execute(
        blocked + "SELECT (SELECT COUNT(*) FROM doomed),"
        " (SELECT COUNT(*) FROM attempts WHERE request_id IN doomed),"
        f" (SELECT TOTAL({size} + 200) FROM requests WHERE id IN doomed)"
        " + (SELECT TOTAL(length(CAST(detail AS BLOB)) + 120) FROM attempts WHERE request_id IN doomed),"
        f" (SELECT COUNT(*) FROM requests AS r WHERE {_matching(statuses, 'r')}) - (SELECT COUNT(*) FROM doomed)",
        {"cutoff": cutoff},
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _pages(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(pages in the file, free pages, page size)."""
    count, free, size = (
        int(conn.execute(f"PRAGMA {p}").fetchone()[0]) for p in ("page_count", "freelist_count", "page_size")
    )
    return count, free, size


def _oldest(conn: sqlite3.Connection) -> datetime | None:
    value = conn.execute("SELECT MIN(created_at) FROM requests").fetchone()[0]
    return None if value is None else datetime.fromtimestamp(value).astimezone()


def vacuum_journal(journal: Journal) -> None:
    """``VACUUM`` the journal (outside any transaction) on the writer's connection, holding the writer.

    The writer wraps every op in ``BEGIN IMMEDIATE``, where ``VACUUM`` is not allowed; so this holds the
    writer (``Journal.exclusive``): this process's writes wait meanwhile, other processes wait on SQLite's lock
    (up to their busy timeout).
    """

    def vacuum(conn: sqlite3.Connection) -> None:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # give the space back to the file system

    try:
        journal.exclusive(vacuum)
    except sqlite3.Error as exc:
        raise JournalError(
            f"cannot vacuum the journal {journal.path}: {exc}",
            hint="retry when the gateway is idle; the pruned space is reused even without VACUUM",
        ) from exc


def prune(
    journal: Journal,
    older_than_s: float,
    *,
    statuses: set[str] | frozenset[str] | None = None,
    dry_run: bool = False,
    vacuum: bool = False,
    batch_size: int = BATCH_SIZE,
    pause_s: float = 0.01,
    stop: threading.Event | None = None,
) -> PruneReport:
    """Delete finished rows created more than ``older_than_s`` seconds ago (see the module docstring).

    ``pause_s`` between batches lets writers of other processes in; setting ``stop`` ends the prune after
    the batch in flight (the report then says ``complete=False``).
    """
    if not older_than_s >= 0:  # also refuses NaN
        raise ValueError(f"older_than_s must be >= 0, not {older_than_s!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size!r}")
    chosen = check_statuses(statuses)
    cutoff = time.time() - older_than_s
    base: dict[str, Any] = {"cutoff": datetime.fromtimestamp(cutoff).astimezone(), "statuses": chosen}
    if dry_run:
        rows, attempts, size, kept = journal._read(lambda c: _forecast(c, cutoff, chosen))
        pages, free, page_size = journal._read(_pages)
        return PruneReport(
            **base, dry_run=True, rows_deleted=rows, attempts_deleted=attempts, bytes_freed=size, kept_linked=kept,
            oldest_remaining=journal._read(_oldest), size_bytes=pages * page_size,
        )  # fmt: skip
    pages, free, page_size = journal._read(_pages)
    used_before = pages - free
    rows = attempts = batches = 0
    complete = True
    while True:
        if stop is not None and stop.is_set():
            complete = False
            break
        done_rows, done_attempts = journal._submit(
            lambda c: delete_batch(c, cutoff, chosen, batch_size)  # looked up per call: tests can wrap it
        ).result()
        if not done_rows:
            break
        rows, attempts, batches = rows + done_rows, attempts + done_attempts, batches + 1
        if pause_s > 0:
            if stop is None:
                time.sleep(pause_s)
            elif stop.wait(pause_s):
                complete = False
                break
    if vacuum and complete:
        vacuum_journal(journal)
    pages, free, page_size = journal._read(_pages)
    kept = journal._read(lambda c: _forecast(c, cutoff, chosen)[3]) if complete else 0
    return PruneReport(
        **base, rows_deleted=rows, attempts_deleted=attempts, bytes_freed=max(0, used_before - (pages - free)) * page_size,
        kept_linked=kept, oldest_remaining=journal._read(_oldest), batches=batches, complete=complete,
        vacuumed=vacuum and complete, size_bytes=pages * page_size,
    )  # fmt: skip


async def aprune(journal: Journal, older_than_s: float, **options: Any) -> PruneReport:
    """:func:`prune` in a worker thread; if the caller is cancelled, the batch in flight commits and it stops."""
    stop = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(prune, journal, older_than_s, stop=stop, **options))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(Exception):
            await task
        raise


# -- the gateway's daily prune ---------------------------------------------------------------------------------
async def retention_loop(journal: Journal, days: int, *, interval_s: float = DAY_S) -> None:
    """Prune rows older than ``days`` now, then every ``interval_s``; failures are logged, never raised."""
    while True:
        try:
            report = await aprune(journal, days * DAY_S)
            if report.rows_deleted:
                log.info(
                    "journal retention: pruned %d entries older than %d days (%d attempts, ~%d bytes)",
                    report.rows_deleted, days, report.attempts_deleted, report.bytes_freed,
                )  # fmt: skip
        except Exception:  # a background chore: it must never take the gateway down
            log.exception("journal retention failed; trying again in %.0f s", interval_s)
        await asyncio.sleep(interval_s)


def start_retention(journal: Journal, days: int | None, *, interval_s: float = DAY_S) -> asyncio.Task[None] | None:
    """Start :func:`retention_loop` on the running loop when ``days`` is set (``None``: keep forever)."""
    if not days:
        return None
    loop = asyncio.get_running_loop()
    return loop.create_task(retention_loop(journal, days, interval_s=interval_s), name="offload-journal-retention")


async def stop_retention(task: asyncio.Task[None] | None) -> None:
    """Stop what :func:`start_retention` started (a prune in progress stops after its current batch)."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
