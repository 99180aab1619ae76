"""The writer's group commit: queued outcomes ride along with the next awaited write, or commit on their own
within the linger; nothing queued is lost on close."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from offload.store import Journal
from offload.store.writer import Writer
from offload.types import Attempt, Usage


def _status(db: Path, rid: str) -> str:
    with sqlite3.connect(db) as c:
        return str(c.execute("SELECT status FROM requests WHERE id = ?", (rid,)).fetchone()[0])


def test_queued_outcome_shares_the_next_urgent_commit(journal: Journal, db_path: Path) -> None:
    rid = journal.begin({"messages": []}, source="api", model_requested="m")
    before = journal.writer_stats.commits
    fut = journal.queue_finish(rid, status="ok", response={"content": "hi"})
    rid2 = journal.begin({"messages": []}, source="api", model_requested="m")  # urgent: commits both
    fut.result(timeout=5)
    assert journal.writer_stats.commits - before == 1
    assert _status(db_path, rid) == "ok" and _status(db_path, rid2) == "pending"


def test_queued_outcome_alone_commits_within_the_linger(journal: Journal, db_path: Path) -> None:
    rid = journal.begin({"messages": []}, source="api", model_requested="m")
    attempt = Attempt(n=1, backend="b", model="m", status="ok", usage=Usage(input_tokens=1, output_tokens=2))
    t0 = time.monotonic()
    journal.queue_attempt(rid, attempt, cost_equiv_usd=0.0, local=True)
    journal.queue_finish(rid, status="ok").result(timeout=5)
    assert time.monotonic() - t0 < 2.0
    assert _status(db_path, rid) == "ok"
    assert journal.get(rid).attempts[0].usage.output_tokens == 2


def test_close_commits_what_is_held(db_path: Path) -> None:
    j = Journal(db_path)
    rid = j.begin({"messages": []}, source="api", model_requested="m")
    fut = j.queue_finish(rid, status="error", error={"message": "x"})
    j.close()
    assert fut.done() and fut.exception() is None
    assert _status(db_path, rid) == "error"


def test_a_failing_queued_op_fails_alone(journal: Journal, db_path: Path) -> None:
    bad = journal.queue_finish("no-such-id", status="ok")
    rid = journal.begin({"messages": []}, source="api", model_requested="m")
    assert bad.exception(timeout=5) is not None
    assert _status(db_path, rid) == "pending"


def test_queue_finish_rejects_unknown_keywords(journal: Journal) -> None:
    with pytest.raises(TypeError):
        journal.queue_finish("x", status="ok", colour="red")


def test_max_batch_one_commits_everything_at_once(db_path: Path) -> None:
    Journal(db_path).close()  # create the schema
    w = Writer(db_path, max_batch=1)
    try:
        futs = [w.submit(lambda c: c.execute("SELECT 1"), urgent=False) for _ in range(3)]
        for f in futs:
            f.result(timeout=5)
        assert w.stats.commits == 3
    finally:
        w.close()
