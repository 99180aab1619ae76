"""Read queries over the journal database (pure functions of a connection; no writes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from offload.errors import InvalidRequest
from offload.store.db import JournalError
from offload.store.entries import (
    ATTEMPT_COLUMNS,
    REQUEST_COLUMNS,
    JournalAttempt,
    JournalEntry,
    attempt_from_row,
    entry_from_row,
)

TimeLike = datetime | float | int


class UnknownJournalEntry(JournalError):
    """No journal entry has the given id."""

    code = "journal_entry_not_found"
    http_status = 404


def timestamp(value: TimeLike | None) -> float | None:
    """A unix timestamp from a datetime (naive = local time) or a number."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _entries(conn: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> list[JournalEntry]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    attempts: dict[str, list[JournalAttempt]] = {i: [] for i in ids}
    replays: dict[str, list[str]] = {i: [] for i in ids}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        marks = ",".join("?" * len(chunk))
        for a in conn.execute(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE request_id IN ({marks}) ORDER BY request_id, n", chunk
        ).fetchall():
            attempts[a["request_id"]].append(attempt_from_row(a))
        for r in conn.execute(
            f"SELECT replay_of, id FROM requests WHERE replay_of IN ({marks}) ORDER BY id", chunk
        ).fetchall():
            replays[r["replay_of"]].append(r["id"])
    return [entry_from_row(r, attempts[r["id"]], replays[r["id"]]) for r in rows]


def get(conn: sqlite3.Connection, request_id: str) -> JournalEntry:
    row = conn.execute(f"SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        raise UnknownJournalEntry(
            f"no journal entry with id {request_id!r}", hint="list recent ids with `offload journal list`"
        )
    return _entries(conn, [row])[0]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_entries(
    conn: sqlite3.Connection,
    *,
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
) -> list[JournalEntry]:
    """Entries matching every given filter, newest first; every value is bound as a parameter."""
    where: list[str] = []
    args: list[Any] = []
    exact = (("status", status), ("source", source), ("kind", kind), ("dialect", dialect), ("client", client))
    for column, value in exact:
        if value is not None:
            where.append(f"{column} = ?")  # (column names are the literals above, never input)
            args.append(value)
    if model is not None:
        where.append("(model = ? OR model_requested = ?)")
        args += [model, model]
    if since is not None:
        where.append("created_at >= ?")
        args.append(timestamp(since))
    if until is not None:
        where.append("created_at < ?")
        args.append(timestamp(until))
    if search:
        pattern = _like(search)
        cols = ("request_json", "response_json", "error_json", "partial_output")
        where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in cols) + ")")
        args += [pattern] * len(cols)
    sql = f"SELECT {REQUEST_COLUMNS} FROM requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    args += [max(0, int(limit)), max(0, int(offset))]
    return _entries(conn, conn.execute(sql, args).fetchall())


#: Columns whose distinct values :func:`distinct_values` may list (the only names it puts into SQL).
DISTINCT_COLUMNS: frozenset[str] = frozenset(
    {"status", "source", "dialect", "client", "kind", "model_requested", "model", "backend", "verdict"}
)


def distinct_values(conn: sqlite3.Connection, column: str, limit: int = 100) -> list[str]:
    """The distinct non-null values of ``column`` (one of :data:`DISTINCT_COLUMNS`), most used first."""
    if column not in DISTINCT_COLUMNS:
        raise InvalidRequest(
            f"cannot list the values of {column!r}", hint=f"use one of {', '.join(sorted(DISTINCT_COLUMNS))}"
        )
    sql = (
        f"SELECT {column} AS value FROM requests WHERE {column} IS NOT NULL AND {column} != '' "
        f"GROUP BY {column} ORDER BY COUNT(*) DESC, {column} LIMIT ?"
    )
    return [str(r[0]) for r in conn.execute(sql, (max(0, int(limit)),)).fetchall()]


REPLAY_STATUS = {"failed": "error", "interrupted": "interrupted", "queued": "queued"}


def for_replay(conn: sqlite3.Connection, which: str, limit: int | None = None) -> list[JournalEntry]:
    """Entries of one replayable kind, oldest first, leaving out those already replayed."""
    status = REPLAY_STATUS.get(which)
    if status is None:
        raise ValueError(f"which must be one of {sorted(REPLAY_STATUS)}, not {which!r}")
    sql = (
        f"SELECT {REQUEST_COLUMNS} FROM requests AS r WHERE status = ? "
        "AND NOT EXISTS (SELECT 1 FROM requests AS n WHERE n.replay_of = r.id) ORDER BY created_at, id"
    )
    args: list[Any] = [status]
    if limit is not None:
        sql += " LIMIT ?"
        args.append(max(0, int(limit)))
    return _entries(conn, conn.execute(sql, args).fetchall())


def integrity_check(conn: sqlite3.Connection) -> str:
    """``PRAGMA integrity_check`` joined into one string: ``"ok"`` when the database is sound."""
    return "\n".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall())
