"""Ledger math against hand-computed values; only verified local answers count as savings."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from offload.store import Journal, Ledger, LedgerTotals, period_start
from offload.types import Usage
from tests.store.helpers import attempt

QWEN = "qwen2.5-coder:7b"
REQ = {"messages": [{"role": "user", "content": "x"}]}


def _at(db_path: Path, rid: str, when: datetime) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("UPDATE requests SET created_at = ? WHERE id = ?", (when.timestamp(), rid))
    conn.close()


@pytest.fixture
def scenario(journal: Journal, db_path: Path) -> Ledger:
    """Five requests; the expected numbers in the tests below are worked out by hand from these."""
    ledger = Ledger(journal)
    # r1: local, verified. Sonnet would have cost 5000*3/1e6 + 1000*15/1e6 = 0.03
    r1 = journal.begin(REQ, source="openai", model_requested="auto", kind="code")
    ledger.record_attempt(r1, attempt(1, model=QWEN, tin=5000, tout=1000, latency=2.0, verdict="verified"), local=True)
    journal.finish(
        r1,
        status="ok",
        model=QWEN,
        local=True,
        verdict="verified",
        reference_model="claude-sonnet-4-5",
        avoided_usd=ledger.avoided_usd("claude-sonnet-4-5", Usage(input_tokens=5000, output_tokens=1000)),
    )
    # r2: local, unverified: 2000*3/1e6 + 500*15/1e6 = 0.0135 reported apart, never as saved
    r2 = journal.begin(REQ, source="openai", model_requested="auto", kind="chat")
    ledger.record_attempt(r2, attempt(1, model=QWEN, tin=2000, tout=500, latency=1.0), local=True)
    journal.finish(r2, status="ok", model=QWEN, local=True, verdict="unverified", avoided_usd=0.0135)
    # r3: local rejected, escalated to gpt-4o-mini: 1000*0.15/1e6 + 300*0.60/1e6 = 0.00033 spent
    r3 = journal.begin(REQ, source="mcp", model_requested="auto", kind="code")
    ledger.record_attempt(r3, attempt(1, model=QWEN, tin=1000, tout=200, latency=0.5, verdict="failed"), local=True)
    cost = ledger.record_attempt(r3, attempt(2, backend="openai", model="gpt-4o-mini", tin=1000, tout=300,
                                             latency=1.5, verdict="verified"), local=False)  # fmt: skip
    assert cost == pytest.approx(0.00033)
    journal.finish(r3, status="ok", model="gpt-4o-mini", local=False, verdict="verified")
    # r4: a cloud error with no tokens
    r4 = journal.begin(REQ, source="mcp", model_requested="auto", kind="chat")
    ledger.record_attempt(r4, attempt(1, backend="claude", model="claude-haiku-4-5", status="error", latency=0.1),
                          local=False)  # fmt: skip
    journal.finish(r4, status="error", error={"code": "backend_unavailable"})
    # r5: still pending, one local attempt so far
    r5 = journal.begin(REQ, source="cli", model_requested="auto")
    ledger.record_attempt(r5, attempt(1, model=QWEN, tin=100), local=True)

    _at(db_path, r1, datetime(2025, 6, 15, 10))
    _at(db_path, r2, datetime(2025, 6, 15, 11))
    _at(db_path, r3, datetime(2025, 6, 12, 9))
    _at(db_path, r4, datetime(2025, 6, 1, 8))
    _at(db_path, r5, datetime(2025, 6, 1, 9))
    return ledger


def test_summary(scenario: Ledger) -> None:
    s = scenario.summary()
    assert (s.requests, s.ok, s.errors, s.attempts) == (5, 3, 1, 6)
    assert (s.local_accepted, s.verified_local, s.unverified_local) == (2, 1, 1)
    assert s.local_acceptance_rate == pytest.approx(2 / 3)
    assert (s.tokens_local_in, s.tokens_local_out) == (8100, 1700)
    assert (s.tokens_cloud_in, s.tokens_cloud_out) == (1000, 300)
    assert (s.tokens_local, s.tokens_cloud) == (9800, 1300)
    assert s.cloud_spend_usd == pytest.approx(0.00033)
    assert s.avoided_usd == pytest.approx(0.03)
    assert s.unverified_avoided_usd == pytest.approx(0.0135)
    assert s.latency_s == pytest.approx(5.1)
    d = s.to_dict()
    assert d["local_acceptance_rate"] == pytest.approx(2 / 3) and d["tokens_cloud"] == 1300


def test_summary_since(scenario: Ledger) -> None:
    s = scenario.summary(since=datetime(2025, 6, 10))
    assert (s.requests, s.attempts, s.tokens_local_in, s.tokens_cloud_in) == (3, 4, 8000, 1000)
    s = scenario.summary(since=datetime(2025, 6, 13), until=datetime(2025, 6, 15, 10, 30))
    assert (s.requests, s.avoided_usd, s.unverified_avoided_usd) == (1, pytest.approx(0.03), 0.0)


def test_breakdown_by_kind(scenario: Ledger) -> None:
    rows = {r.key: r for r in scenario.breakdown("kind")}
    assert list(rows) == ["chat", "code", "unknown"]
    code, chat, unknown = rows["code"], rows["chat"], rows["unknown"]
    assert (code.requests, code.ok, code.local_accepted, code.verified_local, code.attempts) == (2, 2, 1, 1, 3)
    assert (code.tokens_local_in, code.tokens_cloud_in, code.cloud_spend_usd) == (6000, 1000, pytest.approx(0.00033))
    assert code.avoided_usd == pytest.approx(0.03) and code.local_acceptance_rate == 0.5
    assert (chat.requests, chat.ok, chat.errors, chat.unverified_local, chat.attempts) == (2, 1, 1, 1, 2)
    assert (chat.avoided_usd, chat.unverified_avoided_usd) == (0.0, pytest.approx(0.0135))
    assert (unknown.requests, unknown.ok, unknown.attempts, unknown.tokens_local_in) == (1, 0, 1, 100)


def test_breakdown_by_model(scenario: Ledger) -> None:
    rows = {r.key: r for r in scenario.breakdown("model")}
    assert list(rows) == ["auto", "claude-haiku-4-5", "gpt-4o-mini", QWEN]
    qwen = rows[QWEN]
    assert (qwen.requests, qwen.local_accepted, qwen.verified_local, qwen.attempts) == (2, 2, 1, 4)
    assert (qwen.tokens_local_in, qwen.tokens_local_out, qwen.tokens_cloud_in) == (8100, 1700, 0)
    assert qwen.avoided_usd == pytest.approx(0.03)
    mini = rows["gpt-4o-mini"]
    assert (mini.requests, mini.ok, mini.attempts, mini.tokens_cloud_out) == (1, 1, 1, 300)
    assert mini.cloud_spend_usd == pytest.approx(0.00033)
    assert (rows["claude-haiku-4-5"].requests, rows["claude-haiku-4-5"].attempts) == (0, 1)
    assert (rows["auto"].requests, rows["auto"].errors, rows["auto"].attempts) == (2, 1, 0)


def test_breakdown_by_day(scenario: Ledger) -> None:
    rows = scenario.breakdown("day")
    assert [(r.key, r.requests, r.attempts) for r in rows] == [
        ("2025-06-01", 2, 2),
        ("2025-06-12", 1, 2),
        ("2025-06-15", 2, 2),
    ]
    assert rows[1].cloud_spend_usd == pytest.approx(0.00033)
    assert rows[2].avoided_usd == pytest.approx(0.03)
    assert [r.key for r in scenario.breakdown("day", since=datetime(2025, 6, 10))] == ["2025-06-12", "2025-06-15"]
    with pytest.raises(ValueError):
        scenario.breakdown("week")  # type: ignore[arg-type]


def test_avoided_by_period(journal: Journal, db_path: Path) -> None:
    ledger = Ledger(journal)
    now = datetime(2025, 6, 15, 12).astimezone()
    plan = [  # (when, status, verdict, avoided)
        (datetime(2025, 6, 15, 9), "ok", "verified", 1.0),
        (datetime(2025, 6, 15, 10), "ok", "unverified", 8.0),  # not saved: unverified
        (datetime(2025, 6, 15, 11), "error", "verified", 16.0),  # not saved: not answered
        (datetime(2025, 6, 12, 9), "ok", "verified", 2.0),
        (datetime(2025, 6, 5, 9), "ok", "verified", 4.0),
    ]
    for when, status, verdict, avoided in plan:
        rid = journal.begin(REQ, source="cli", model_requested="auto")
        journal.finish(rid, status=status, local=True, verdict=verdict, avoided_usd=avoided)
        _at(db_path, rid, when)
    assert ledger.avoided("today", now=now) == pytest.approx(1.0)
    assert ledger.avoided("7d", now=now) == pytest.approx(3.0)
    assert ledger.avoided("all", now=now) == pytest.approx(7.0)
    assert ledger.summary().unverified_avoided_usd == pytest.approx(8.0)
    assert period_start("all") is None
    with pytest.raises(ValueError):
        period_start("month")  # type: ignore[arg-type]


def test_empty_journal(journal: Journal) -> None:
    ledger = Ledger(journal)
    assert ledger.summary() == LedgerTotals()
    assert ledger.summary().local_acceptance_rate == 0.0
    assert ledger.breakdown("day") == []
    assert ledger.avoided("today") == 0.0


async def test_async_reports(scenario: Ledger) -> None:
    assert (await scenario.asummary()).requests == 5
    assert len(await scenario.abreakdown("kind")) == 3
    assert await scenario.aavoided("all") == pytest.approx(0.03)
