"""Journal retention: what is pruned and what never is, ledger totals kept whole, batches, interruptions."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from offload.config import parse_config
from offload.errors import ConfigError
from offload.redact import Redactor
from offload.store import Journal, Ledger, LedgerTotals
from offload.store import retention as ret
from offload.types import Usage
from tests.store.helpers import attempt

DAY = 86_400.0
QWEN = "qwen2.5-coder:7b"
REQ = {"messages": [{"role": "user", "content": "write is_prime " * 50}]}


@dataclass
class Scenario:
    """Rows of every kind, old (40+ days) and recent; ``doomed`` are those a 30-day prune must delete."""

    ids: dict[str, str] = field(default_factory=dict)
    doomed: set[str] = field(default_factory=set)


def _set(db_path: Path, rid: str, *, days_ago: float | None = None, status: str | None = None) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    if days_ago is not None:
        conn.execute("UPDATE requests SET created_at = ? WHERE id = ?", (time.time() - days_ago * DAY, rid))
    if status is not None:
        conn.execute("UPDATE requests SET status = ? WHERE id = ?", (status, rid))
    conn.close()


def build(journal: Journal, db_path: Path) -> Scenario:
    s = Scenario()

    def row(name: str, days_ago: float, *, outcome: str | None = "local", kind: str | None = "code", doomed: bool = False,
            replay_of: str | None = None, status: str | None = None) -> str:  # fmt: skip
        rid = journal.begin(REQ, source="test", model_requested="auto", kind=kind,
                            status="queued" if outcome == "queued" else "pending")  # fmt: skip
        if outcome == "local":  # verified local answer: counted as saved
            journal.record_attempt(rid, attempt(1, model=QWEN, tin=500, tout=100, latency=1.5), cost_equiv_usd=0.0,
                                   local=True)  # fmt: skip
            journal.finish(rid, status="ok", usage=Usage(input_tokens=500, output_tokens=100), model=QWEN, local=True,
                           verdict="verified", avoided_usd=0.0125, reference_model="claude-sonnet-4-5")  # fmt: skip
        elif outcome == "unverified":
            journal.record_attempt(rid, attempt(1, model=QWEN, tin=300, tout=50), cost_equiv_usd=0.0, local=True)
            journal.finish(rid, status="ok", model=QWEN, local=True, verdict="unverified", avoided_usd=0.004)
        elif outcome == "cloud":  # local rejected, escalated
            journal.record_attempt(rid, attempt(1, model=QWEN, tin=200, tout=40, verdict="failed"), cost_equiv_usd=0.0,
                                   local=True)  # fmt: skip
            journal.record_attempt(rid, attempt(2, backend="openai", model="gpt-4o-mini", tin=200, tout=60,
                                                latency=0.7), cost_equiv_usd=0.00039, local=False)  # fmt: skip
            journal.finish(rid, status="ok", model="gpt-4o-mini", local=False, verdict="verified")
        elif outcome == "error":
            journal.record_attempt(rid, attempt(1, backend="claude", model="claude-haiku-4-5", status="error"),
                                   cost_equiv_usd=0.0001, local=False)  # fmt: skip
            journal.finish(rid, status="error", error={"code": "backend_unavailable"})
        elif outcome == "pending":  # in flight: one attempt so far
            journal.record_attempt(rid, attempt(1, model=QWEN, tin=50), cost_equiv_usd=0.0, local=True)
        if replay_of is not None:
            journal.link_replay(replay_of, rid)
        _set(db_path, rid, days_ago=days_ago, status=status)
        s.ids[name] = rid
        if doomed:
            s.doomed.add(rid)
        return rid

    for i in range(6):  # old, spread over days, kinds and outcomes
        row(f"old_local{i}", 40 + i, kind=("code", "chat", None)[i % 3], doomed=True)
    row("old_unverified", 41.5, outcome="unverified", kind="chat", doomed=True)
    row("old_cloud", 45, outcome="cloud", doomed=True)
    row("old_error", 50, outcome="error", kind="chat", doomed=True)
    row("old_cancelled", 43, outcome="error", status="cancelled", doomed=True)
    row("old_interrupted", 44, outcome=None, status="interrupted", doomed=True)
    row("old_pending", 60, outcome="pending")  # never pruned
    row("old_queued", 60, outcome="queued")  # never pruned
    # replay links: an original goes only when every replay of it goes
    e1 = row("failed_replayed_recently", 55, outcome="error")
    row("recent_replay", 2, replay_of=e1)
    e2 = row("failed_replayed_long_ago", 56, outcome="error", doomed=True)
    row("old_replay", 54, replay_of=e2, doomed=True)
    a = row("chain_a", 57, outcome="error")
    b = row("chain_b", 52, outcome="error", replay_of=a)
    row("chain_c_recent", 1, replay_of=b)
    c = row("waiting_original", 58, outcome="error")
    row("pending_replay", 0.5, outcome="pending", replay_of=c)
    for i in range(3):
        row(f"recent{i}", 3 + i, outcome=("local", "cloud", "error")[i])
    return s


def _ids(journal: Journal) -> set[str]:
    return {r["id"] for r in journal.query("SELECT id FROM requests")}


def _report(journal: Journal) -> dict[str, list[dict[str, Any]]]:
    ledger = Ledger(journal)
    out = {"all": [ledger.summary()]}
    for by in ("day", "model", "kind"):
        out[by] = ledger.breakdown(by)  # type: ignore[arg-type]
    return {k: [t.to_dict() for t in v] for k, v in out.items()}


def assert_same_ledger(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> None:
    assert before.keys() == after.keys()
    for by in before:
        assert [r["key"] for r in before[by]] == [r["key"] for r in after[by]], by
        for b, a in zip(before[by], after[by], strict=True):
            assert {k: v for k, v in a.items() if k != "key"} == pytest.approx(
                {k: v for k, v in b.items() if k != "key"}
            ), (by, b["key"])


def assert_consistent(journal: Journal) -> None:
    assert journal.integrity_check() == "ok"
    assert journal.query("PRAGMA foreign_key_check") == []
    orphans = journal.query("SELECT COUNT(*) AS n FROM attempts WHERE request_id NOT IN (SELECT id FROM requests)")
    assert orphans[0]["n"] == 0


@pytest.fixture
def scenario(journal: Journal, db_path: Path) -> Scenario:
    return build(journal, db_path)


def test_prunes_only_old_finished_rows_and_their_attempts(journal: Journal, scenario: Scenario) -> None:
    before = _ids(journal)
    of_doomed = f"SELECT COUNT(*) AS n FROM attempts WHERE request_id IN ({','.join('?' * len(scenario.doomed))})"
    doomed_attempts = journal.query(of_doomed, tuple(scenario.doomed))[0]["n"]
    report = journal.prune(30 * DAY)
    assert _ids(journal) == before - scenario.doomed
    assert (report.rows_deleted, report.attempts_deleted) == (len(scenario.doomed), doomed_attempts)
    assert doomed_attempts > 0 and journal.query(of_doomed, tuple(scenario.doomed))[0]["n"] == 0
    for name in ("old_pending", "old_queued", "recent0", "recent1", "recent2", "pending_replay"):
        assert scenario.ids[name] in _ids(journal), name
    for name in ("failed_replayed_recently", "chain_a", "chain_b", "waiting_original"):  # a kept replay points at them
        assert journal.get(scenario.ids[name]).replayed_by, name
    assert report.kept_linked == 4
    oldest = min(r["created_at"] for r in journal.query("SELECT created_at FROM requests"))
    assert report.oldest_remaining is not None and report.oldest_remaining.timestamp() == pytest.approx(oldest)
    assert report.complete and not report.dry_run and report.bytes_freed >= 0
    assert report.batches == 2  # the second takes the original whose old replay the first deleted
    assert_consistent(journal)
    assert journal.prune(30 * DAY).rows_deleted == 0  # nothing left to do


def test_pending_and_queued_are_never_pruned(journal: Journal, scenario: Scenario) -> None:
    journal.prune(0)
    left = {r["status"] for r in journal.query("SELECT status FROM requests")}
    assert left <= {"pending", "queued", "error"}  # errors kept only as originals of the pending replay
    assert {scenario.ids["old_pending"], scenario.ids["old_queued"], scenario.ids["pending_replay"]} <= _ids(journal)
    for bad in ({"pending"}, {"queued", "ok"}, {"done"}, set()):
        with pytest.raises(ValueError):
            journal.prune(0, statuses=bad)


def test_status_filter(journal: Journal, scenario: Scenario) -> None:
    report = journal.prune(30 * DAY, statuses={"cancelled", "interrupted"})
    assert report.rows_deleted == 2 and report.statuses == ("cancelled", "interrupted")
    assert scenario.ids["old_cancelled"] not in _ids(journal) and scenario.ids["old_local0"] in _ids(journal)


def test_ledger_totals_identical_after_pruning(journal: Journal, scenario: Scenario) -> None:
    before = _report(journal)
    ledger = Ledger(journal)
    # periods bounded by local midnights stay exact (a pruned day counts when its midnight is in the period)
    day = datetime.fromtimestamp(time.time() - 43 * DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    windows = [(day, None), (day, day + timedelta(days=1)), (None, day), (day - timedelta(days=5), day)]
    periods = {str(w): [ledger.summary(since=w[0], until=w[1]).to_dict()] for w in windows}
    assert journal.prune(30 * DAY).rows_deleted == len(scenario.doomed)
    assert journal.query("SELECT COUNT(*) AS n FROM ledger_rollup")[0]["n"] > 0
    assert_same_ledger(before, _report(journal))
    assert_same_ledger(periods, {str(w): [ledger.summary(since=w[0], until=w[1]).to_dict()] for w in windows})


def test_dry_run_changes_nothing_and_predicts(journal: Journal, db_path: Path, scenario: Scenario) -> None:
    def dump() -> list[tuple[Any, ...]]:
        return [tuple(r) for r in journal.query("SELECT * FROM requests ORDER BY id")] + [
            tuple(r) for r in journal.query("SELECT * FROM attempts ORDER BY request_id, n")
        ]

    state = dump()
    ledger = _report(journal)
    plan = journal.prune(30 * DAY, dry_run=True, vacuum=True)
    assert dump() == state and _report(journal) == ledger
    assert journal.query("SELECT COUNT(*) AS n FROM ledger_rollup")[0]["n"] == 0
    assert plan.dry_run and not plan.vacuumed and plan.batches == 0 and plan.bytes_freed > 0
    done = journal.prune(30 * DAY)
    assert (plan.rows_deleted, plan.attempts_deleted, plan.kept_linked) == (
        done.rows_deleted, done.attempts_deleted, done.kept_linked)  # fmt: skip


@pytest.mark.parametrize("batch_size", [1, 2, 3, 500])
def test_batches_give_the_same_result(tmp_path: Path, batch_size: int) -> None:
    db_path = tmp_path / f"j{batch_size}.db"
    with Journal(db_path, Redactor()) as journal:
        scenario = build(journal, db_path)
        before, ids = _report(journal), _ids(journal)
        report = ret.prune(journal, 30 * DAY, batch_size=batch_size, pause_s=0)
        assert _ids(journal) == ids - scenario.doomed
        assert report.rows_deleted == len(scenario.doomed) and report.kept_linked == 4
        assert report.batches >= -(-len(scenario.doomed) // batch_size)
        assert_same_ledger(before, _report(journal))
        assert_consistent(journal)


def test_interrupted_prune_leaves_a_consistent_journal(
    journal: Journal, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, ids = _report(journal), _ids(journal)
    real = ret.delete_batch
    calls = 0

    def failing(conn: sqlite3.Connection, *args: Any) -> tuple[int, int]:
        nonlocal calls
        calls += 1
        done = real(conn, *args)  # rolled up AND deleted inside the transaction…
        if calls > 1:
            raise RuntimeError("power cut")  # …then it dies before the commit
        return done

    monkeypatch.setattr(ret, "delete_batch", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        journal.prune(30 * DAY, batch_size=2)
    assert len(ids - _ids(journal)) == 2  # exactly the first batch
    assert_same_ledger(before, _report(journal))  # nothing lost, nothing counted twice
    assert_consistent(journal)
    assert journal._submit(lambda c: c.execute("SELECT 1").fetchone()[0]).result() == 1  # the writer still works
    monkeypatch.setattr(ret, "delete_batch", real)
    assert journal.prune(30 * DAY, batch_size=2).rows_deleted == len(scenario.doomed) - 2  # running again finishes
    assert _ids(journal) == ids - scenario.doomed
    assert_same_ledger(before, _report(journal))


def test_stop_between_batches(journal: Journal, scenario: Scenario) -> None:
    stop = threading.Event()
    stop.set()
    report = ret.prune(journal, 30 * DAY, stop=stop)
    assert not report.complete and report.rows_deleted == 0


def test_vacuum_gives_space_back(journal: Journal, db_path: Path) -> None:
    for _ in range(4):
        scenario = build(journal, db_path)
    size = journal.prune(30 * DAY, dry_run=True).size_bytes
    report = journal.prune(30 * DAY, vacuum=True)
    assert report.vacuumed and report.rows_deleted == 4 * len(scenario.doomed)
    assert report.size_bytes < size and report.bytes_freed > 0
    rid = journal.begin(REQ, source="test", model_requested="auto")
    assert journal.get(rid).status == "pending"
    assert_consistent(journal)


def test_arguments_are_checked(journal: Journal) -> None:
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError):
            journal.prune(bad)
    with pytest.raises(ValueError):
        journal.prune(DAY, batch_size=0)
    assert journal.prune(DAY).rows_deleted == 0  # an empty journal
    assert journal.prune(DAY).oldest_remaining is None


async def test_aprune(journal: Journal, scenario: Scenario) -> None:
    plan = await journal.aprune(30 * DAY, dry_run=True)
    report = await journal.aprune(30 * DAY, batch_size=4)
    assert plan.rows_deleted == report.rows_deleted == len(scenario.doomed)


async def test_gateway_retention_task(journal: Journal, scenario: Scenario) -> None:
    assert ret.start_retention(journal, None) is None
    await ret.stop_retention(None)
    task = ret.start_retention(journal, 30, interval_s=3600)
    assert task is not None
    for _ in range(200):
        if not scenario.doomed & _ids(journal):
            break
        await asyncio.sleep(0.02)
    assert not scenario.doomed & _ids(journal)
    await ret.stop_retention(task)
    assert task.done()


async def test_gateway_retention_task_survives_failures(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal(db_path, Redactor())
    journal.close()  # every prune now fails
    task = ret.start_retention(journal, 30, interval_s=0.01)
    assert task is not None
    for _ in range(200):
        if sum("journal retention failed" in r.message for r in caplog.records) >= 2:
            break
        await asyncio.sleep(0.01)
    assert sum("journal retention failed" in r.message for r in caplog.records) >= 2
    assert not task.done()  # logged and retried, never raised
    await ret.stop_retention(task)


def test_rollup_migration_and_empty_ledger(journal: Journal) -> None:
    assert journal.query("SELECT name FROM _migrations ORDER BY rowid")[-1]["name"] == "m003_ledger_rollup"
    assert Ledger(journal).summary() == LedgerTotals()


def test_config_journal_retention_days() -> None:
    assert parse_config({}).defaults.journal_retention_days is None
    assert parse_config({"defaults": {"journal_retention_days": 30}}).defaults.journal_retention_days == 30
    for bad in (0, -3, 1.5, "30", True):
        with pytest.raises(ConfigError) as ei:
            parse_config({"defaults": {"journal_retention_days": bad}})
        assert ei.value.key == "defaults.journal_retention_days"  # type: ignore[attr-defined]
