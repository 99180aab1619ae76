"""Append-only, named schema migrations for the journal database.

Each migration has a name and is applied exactly once, in order; the names of applied migrations are kept
in the ``_migrations`` table. Released migrations are NEVER edited or reordered (a test pins their text):
to change the schema, append a new migration at the end of :data:`MIGRATIONS`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from offload.store.db import JournalError


@dataclass(frozen=True)
class Migration:
    """One named schema step: SQL statements, optionally followed by a Python data step."""

    name: str
    statements: tuple[str, ...] = ()
    fn: Callable[[sqlite3.Connection], None] | None = None

    def digest(self) -> str:
        """SHA-256 of the migration's SQL (pinned by the tests so released steps cannot change)."""
        return hashlib.sha256("\n;\n".join(self.statements).encode()).hexdigest()

    def apply(self, conn: sqlite3.Connection) -> None:
        for stmt in self.statements:
            conn.execute(stmt)
        if self.fn is not None:
            self.fn(conn)


_STATUSES = "'pending','ok','error','cancelled','interrupted','queued'"

MIGRATIONS: list[Migration] = [
    Migration(
        "m001_requests",
        (
            f"""
            CREATE TABLE requests (
                id              TEXT PRIMARY KEY,
                created_at      REAL NOT NULL,
                updated_at      REAL NOT NULL,
                finished_at     REAL,
                status          TEXT NOT NULL CHECK (status IN ({_STATUSES})),
                source          TEXT NOT NULL,
                dialect         TEXT,
                client          TEXT,
                kind            TEXT,
                model_requested TEXT NOT NULL,
                model           TEXT,
                backend         TEXT,
                verdict         TEXT,
                local           INTEGER,
                request_json    TEXT NOT NULL,
                headers_json    TEXT,
                response_json   TEXT,
                error_json      TEXT,
                route_json      TEXT,
                partial_output  TEXT,
                input_tokens    INTEGER,
                output_tokens   INTEGER,
                avoided_usd     REAL,
                reference_model TEXT,
                replay_of       TEXT REFERENCES requests(id),
                owner_host      TEXT,
                owner_boot      TEXT,
                owner_pid       INTEGER,
                owner_start     INTEGER
            )
            """,
            "CREATE INDEX requests_created ON requests(created_at)",
            "CREATE INDEX requests_status ON requests(status, created_at)",
            "CREATE INDEX requests_replay_of ON requests(replay_of) WHERE replay_of IS NOT NULL",
        ),
    ),
    Migration(
        "m002_attempts",
        (
            """
            CREATE TABLE attempts (
                request_id     TEXT NOT NULL REFERENCES requests(id),
                n              INTEGER NOT NULL,
                created_at     REAL NOT NULL,
                backend        TEXT NOT NULL,
                model          TEXT NOT NULL,
                status         TEXT NOT NULL,
                verdict        TEXT NOT NULL,
                detail         TEXT NOT NULL DEFAULT '',
                latency_s      REAL NOT NULL DEFAULT 0,
                input_tokens   INTEGER NOT NULL DEFAULT 0,
                output_tokens  INTEGER NOT NULL DEFAULT 0,
                cost_equiv_usd REAL,
                local          INTEGER,
                PRIMARY KEY (request_id, n)
            )
            """,
            "CREATE INDEX attempts_model ON attempts(model)",
        ),
    ),
    # Ledger figures of pruned requests (see offload.store.retention), one row per local day, kind and model.
    # Request counters and savings are keyed by the answering model, attempt counters by the attempt's model,
    # exactly as the ledger groups live rows; ``day_start`` (unix time of that local midnight) filters periods.
    Migration(
        "m003_ledger_rollup",
        (
            """
            CREATE TABLE ledger_rollup (
                day                    TEXT NOT NULL,
                day_start              REAL NOT NULL,
                kind                   TEXT NOT NULL,
                model                  TEXT NOT NULL,
                requests               INTEGER NOT NULL DEFAULT 0,
                ok                     INTEGER NOT NULL DEFAULT 0,
                errors                 INTEGER NOT NULL DEFAULT 0,
                local_accepted         INTEGER NOT NULL DEFAULT 0,
                verified_local         INTEGER NOT NULL DEFAULT 0,
                avoided_usd            REAL NOT NULL DEFAULT 0,
                unverified_avoided_usd REAL NOT NULL DEFAULT 0,
                attempts               INTEGER NOT NULL DEFAULT 0,
                tokens_local_in        INTEGER NOT NULL DEFAULT 0,
                tokens_local_out       INTEGER NOT NULL DEFAULT 0,
                tokens_cloud_in        INTEGER NOT NULL DEFAULT 0,
                tokens_cloud_out       INTEGER NOT NULL DEFAULT 0,
                cloud_spend_usd        REAL NOT NULL DEFAULT 0,
                latency_s              REAL NOT NULL DEFAULT 0,
                updated_at             REAL NOT NULL,
                PRIMARY KEY (day, kind, model)
            )
            """,
            "CREATE INDEX ledger_rollup_day_start ON ledger_rollup(day_start)",
        ),
    ),
]


def applied(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied to ``conn``'s database, in the order they were applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet applied, in order, in one transaction; returns the names applied.

    Raises :class:`JournalError` when the database's history is not a prefix of ``migrations`` (it was
    written by a newer offload, or a released migration was renamed or removed).
    """
    names = [m.name for m in migrations]
    if len(set(names)) != len(names):
        raise JournalError("duplicate migration names", hint="every migration needs a unique name")
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = applied(conn)
        if done != names[: len(done)]:
            unknown = [n for n in done if n not in names]
            raise JournalError(
                f"the journal database has migrations this offload does not know: {unknown or done}",
                hint="upgrade offload, or point [defaults] journal_path at a new file",
            )
        todo = list(migrations[len(done) :])
        for m in todo:
            m.apply(conn)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (m.name, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [m.name for m in todo]
