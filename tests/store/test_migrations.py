"""Migrations: applied once, in order, append-only; a new migration applies on an old database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from offload.store import MIGRATIONS, Journal, JournalError, Migration, migrate
from offload.store.migrations import applied

#: Released migrations and the SHA-256 of their SQL. NEVER edit an entry: append a new migration instead.
RELEASED = {
    "m001_requests": "afa2cfc152f17e51a8cfd64cda7f4d488f16d219310d24726999a5668f251f80",
    "m002_attempts": "3745dc6f0f0d4c62523f317f2a48fb80f2f08b74f7e4953599a4a8c6b30ee3aa",
    "m003_ledger_rollup": "6583dc3d1b80327b3d541d8d48c2ec3d512b0a9de4ce9cafe81625fbb18214a5",
}


def _conn(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_released_migrations_are_never_edited() -> None:
    names = [m.name for m in MIGRATIONS]
    assert names[: len(RELEASED)] == list(RELEASED), "released migrations were removed or reordered"
    assert len(set(names)) == len(names)
    for m in MIGRATIONS[: len(RELEASED)]:
        assert m.digest() == RELEASED[m.name], f"{m.name} was edited; append a new migration instead"


def test_migrate_applies_all_once_in_order(db_path: Path) -> None:
    conn = _conn(db_path)
    assert migrate(conn) == [m.name for m in MIGRATIONS]
    assert applied(conn) == [m.name for m in MIGRATIONS]
    assert migrate(conn) == []  # idempotent
    assert applied(conn) == [m.name for m in MIGRATIONS]
    conn.close()


def test_opening_a_journal_twice_is_idempotent(db_path: Path) -> None:
    Journal(db_path).close()
    Journal(db_path).close()
    conn = _conn(db_path)
    assert applied(conn) == [m.name for m in MIGRATIONS]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_new_migration_applies_on_an_old_database(db_path: Path) -> None:
    conn = _conn(db_path)
    migrate(conn, MIGRATIONS[:1])  # a database written by an older offload
    conn.execute(
        "INSERT INTO requests (id, created_at, updated_at, status, source, model_requested, request_json) "
        "VALUES ('old1', 1, 1, 'ok', 'cli', 'auto', '{}')"
    )
    added = Migration(
        "m999_test_labels",
        ("ALTER TABLE requests ADD COLUMN label TEXT", "UPDATE requests SET label = 'migrated'"),
    )
    assert migrate(conn, [*MIGRATIONS, added]) == [m.name for m in MIGRATIONS[1:]] + ["m999_test_labels"]
    assert conn.execute("SELECT id, label FROM requests").fetchall() == [("old1", "migrated")]
    assert applied(conn) == [m.name for m in MIGRATIONS] + ["m999_test_labels"]
    assert migrate(conn, [*MIGRATIONS, added]) == []
    conn.close()


def test_python_data_step_runs_after_sql(db_path: Path) -> None:
    conn = _conn(db_path)
    migrate(conn)
    seen: list[int] = []
    step = Migration(
        "m999_data",
        ("CREATE TABLE t (x INTEGER)",),
        fn=lambda c: seen.append(c.execute("INSERT INTO t VALUES (7)").rowcount),
    )
    migrate(conn, [*MIGRATIONS, step])
    assert seen == [1]
    assert conn.execute("SELECT x FROM t").fetchall() == [(7,)]
    conn.close()


def test_failing_migration_rolls_back_completely(db_path: Path) -> None:
    conn = _conn(db_path)
    migrate(conn)
    good = Migration("m900_good", ("CREATE TABLE good (x)",))
    bad = Migration("m901_bad", ("CREATE TABLE oops (",))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, [*MIGRATIONS, good, bad])
    assert applied(conn) == [m.name for m in MIGRATIONS]
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'good'").fetchall() == []
    conn.close()


def test_database_from_a_newer_offload_is_refused(db_path: Path) -> None:
    conn = _conn(db_path)
    migrate(conn, [*MIGRATIONS, Migration("m999_future", ("CREATE TABLE future (x)",))])
    conn.close()
    with pytest.raises(JournalError) as err:
        Journal(db_path)
    assert "m999_future" in str(err.value)
    assert err.value.hint and "upgrade offload" in err.value.hint


def test_duplicate_names_are_rejected(db_path: Path) -> None:
    conn = _conn(db_path)
    with pytest.raises(JournalError, match="duplicate"):
        migrate(conn, [*MIGRATIONS, MIGRATIONS[0]])
    conn.close()


def test_not_a_database_gives_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError) as err:
        Journal(path)
    assert err.value.hint
