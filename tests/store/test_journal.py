"""Journal round trips, queries, replay bookkeeping and the async twins."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from offload.store import Journal, JournalError, UnknownJournalEntry, new_id
from offload.types import ChatRequest, Usage
from tests.store.helpers import attempt

REQUEST = {"model": "auto", "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]}


def test_begin_attempt_finish_round_trip(journal: Journal) -> None:
    rid = journal.begin(
        REQUEST, source="openai", model_requested="auto", dialect="openai", client="curl/8", kind="code",
        headers={"User-Agent": "curl/8"},
    )  # fmt: skip
    journal.record_attempt(rid, attempt(1, tin=120, tout=0, status="rejected", verdict="failed", latency=0.5,
                                        detail="json did not parse"), cost_equiv_usd=0.0, local=True)  # fmt: skip
    journal.record_attempt(
        rid,
        attempt(2, backend="anthropic", model="claude-haiku-4-5", tin=120, tout=40, verdict="verified"),
        cost_equiv_usd=0.00032,
    )
    journal.finish(
        rid, status="ok", response={"content": "hi there"}, usage=Usage(input_tokens=120, output_tokens=40),
        model="claude-haiku-4-5", backend="anthropic", verdict="verified", route={"why": "escalated"},
        local=False, avoided_usd=None, reference_model="claude-sonnet-4-5",
    )  # fmt: skip
    e = journal.get(rid)
    assert (e.id, e.status, e.source, e.dialect, e.client, e.kind) == (rid, "ok", "openai", "openai", "curl/8", "code")
    assert e.request == REQUEST
    assert e.headers == {"User-Agent": "curl/8"}
    assert e.response == {"content": "hi there"} and e.route == {"why": "escalated"}
    assert e.usage == Usage(input_tokens=120, output_tokens=40)
    assert (e.model, e.backend, e.verdict, e.local, e.reference_model) == (
        "claude-haiku-4-5", "anthropic", "verified", False, "claude-sonnet-4-5",
    )  # fmt: skip
    assert e.finished_at is not None and e.finished_at >= e.created_at
    assert [a.n for a in e.attempts] == [1, 2]
    first, second = e.attempts
    assert (first.status, first.verdict, first.detail, first.local, first.latency_s) == (
        "rejected", "failed", "json did not parse", True, 0.5,
    )  # fmt: skip
    assert (second.local, second.cost_equiv_usd, second.usage.output_tokens) == (False, 0.00032, 40)
    assert e.cost_equiv_usd == pytest.approx(0.00032)


def test_begin_commits_before_it_returns(journal: Journal, db_path: Path) -> None:
    rid = journal.begin(REQUEST, source="cli", model_requested="auto")
    other = sqlite3.connect(db_path)  # a different connection sees the committed row at once
    assert other.execute("SELECT status FROM requests WHERE id = ?", (rid,)).fetchone() == ("pending",)
    other.close()
    assert journal.get(rid).status == "pending"


def test_pydantic_requests_are_stored_as_canonical_dicts(journal: Journal) -> None:
    req = ChatRequest.from_prompt("write a haiku", model="fast", max_tokens=30)
    rid = journal.begin(req, source="mcp", model_requested=req.model)
    stored = journal.get(rid).request
    assert ChatRequest.model_validate(stored) == req


def test_record_attempt_is_idempotent_per_n(journal: Journal) -> None:
    rid = journal.begin(REQUEST, source="cli", model_requested="auto")
    journal.record_attempt(rid, attempt(1, tin=5, tout=5))
    journal.record_attempt(rid, attempt(1, tin=7, tout=9))
    (only,) = journal.get(rid).attempts
    assert only.usage == Usage(input_tokens=7, output_tokens=9)
    assert only.local is True  # no cost given: inferred local


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 for i in ids)


def test_unknown_ids_and_bad_statuses(journal: Journal) -> None:
    with pytest.raises(UnknownJournalEntry):
        journal.get("nope")
    with pytest.raises(UnknownJournalEntry):
        journal.finish("nope", status="ok")
    with pytest.raises(UnknownJournalEntry):
        journal.record_attempt("nope", attempt(1))
    with pytest.raises(UnknownJournalEntry):
        journal.mark_status("nope", "pending")
    rid = journal.begin(REQUEST, source="cli", model_requested="auto")
    with pytest.raises(ValueError):
        journal.finish(rid, status="pending")
    with pytest.raises(ValueError):
        journal.mark_status(rid, "done")
    with pytest.raises(ValueError):
        journal.begin(REQUEST, source="cli", model_requested="auto", status="ok")
    assert journal.get(rid).status == "pending"  # nothing half-written


def test_list_filters_and_order(journal: Journal) -> None:
    a = journal.begin(REQUEST, source="openai", model_requested="auto", kind="code")
    b = journal.begin({"messages": [{"role": "user", "content": "100% sure_thing"}]}, source="mcp",
                      model_requested="qwen", kind="chat")  # fmt: skip
    c = journal.begin(REQUEST, source="openai", model_requested="auto", kind="code")
    journal.finish(a, status="ok", model="qwen")
    journal.finish(c, status="error", error={"code": "backend_unavailable", "message": "ollama down"})
    assert [e.id for e in journal.list()] == [c, b, a]  # newest first
    assert [e.id for e in journal.list(status="error")] == [c]
    assert [e.id for e in journal.list(source="mcp")] == [b]
    assert [e.id for e in journal.list(model="qwen")] == [b, a]  # requested or used
    assert [e.id for e in journal.list(kind="code")] == [c, a]
    assert [e.id for e in journal.list(search="100% sure_")] == [b]
    assert [e.id for e in journal.list(search="0%")] == [b]  # % is literal
    assert [e.id for e in journal.list(search="ollama down")] == [c]
    assert [e.id for e in journal.list(limit=1, offset=1)] == [b]
    mid = journal.get(b).created_at
    assert {e.id for e in journal.list(since=mid)} >= {b, c}
    assert a in {e.id for e in journal.list(until=mid)}
    assert journal.list(since=time.time() + 3600) == []


def test_replay_bookkeeping(journal: Journal) -> None:
    failed = journal.begin(REQUEST, source="cli", model_requested="auto")
    journal.finish(failed, status="error", error={"code": "x"})
    queued = journal.begin(REQUEST, source="cli", model_requested="auto", status="queued")
    assert [e.id for e in journal.for_replay("failed")] == [failed]
    assert [e.id for e in journal.for_replay("queued")] == [queued]
    assert journal.for_replay("failed")[0].request == REQUEST
    with pytest.raises(ValueError):
        journal.for_replay("everything")

    again = journal.begin(REQUEST, source="replay", model_requested="auto")
    journal.link_replay(failed, again)
    journal.finish(again, status="ok")
    assert journal.for_replay("failed") == []
    assert journal.get(failed).replayed_by == [again]
    assert journal.get(again).replay_of == failed
    with pytest.raises(UnknownJournalEntry):
        journal.link_replay("missing", again)
    with pytest.raises(ValueError):
        journal.link_replay(again, again)

    journal.mark_status(queued, "pending")  # a replay picks the queued request up in place
    assert journal.for_replay("queued") == []
    entry = journal.get(queued)
    assert entry.status == "pending" and entry.finished_at is None
    journal.finish(queued, status="ok")
    assert journal.get(queued).status == "ok"


def test_closed_journal_refuses_work(db_path: Path) -> None:
    j = Journal(db_path)
    j.close()
    j.close()
    with pytest.raises(JournalError, match="closed"):
        j.begin(REQUEST, source="cli", model_requested="auto")
    with pytest.raises(JournalError, match="closed"):
        j.list()


def test_two_journals_on_one_file_share_it(db_path: Path) -> None:
    with Journal(db_path) as one, Journal(db_path) as two:
        rid = one.begin(REQUEST, source="cli", model_requested="auto")
        two.finish(rid, status="ok")
        assert one.get(rid).status == "ok"
        assert one.integrity_check() == "ok"


async def test_async_twins(journal: Journal) -> None:
    rid = await journal.abegin(REQUEST, source="openai", model_requested="auto")
    await journal.arecord_attempt(rid, attempt(1, tin=3, tout=4), cost_equiv_usd=0.0)
    await journal.afinish(rid, status="ok", usage=Usage(input_tokens=3, output_tokens=4), local=True)
    await journal.amark_status(rid, "ok")
    entry = await journal.aget(rid)
    assert entry.status == "ok" and entry.attempts[0].usage.output_tokens == 4
    assert [e.id for e in await journal.alist(status="ok")] == [rid]
    assert await journal.afor_replay("failed") == []
    assert await journal.aintegrity_check() == "ok"


async def test_concurrent_async_begins_share_commits(db_path: Path) -> None:
    journal = Journal(db_path)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # hold the write lock: the writer must queue everything behind it
    tasks = [asyncio.create_task(journal.abegin(REQUEST, source="t", model_requested="auto")) for _ in range(20)]
    await asyncio.sleep(0)  # every task has submitted its row and is now waiting for the commit
    assert not any(t.done() for t in tasks)
    blocker.execute("COMMIT")
    ids = await asyncio.gather(*tasks)
    assert len(set(ids)) == 20
    stats = journal.writer_stats
    assert stats.ops == 20 and stats.commits <= 2  # 20 durable rows, at most 2 fsyncs
    assert {e.id for e in journal.list(limit=100)} == set(ids)
    blocker.close()
    journal.close()


async def test_cancelled_abegin_leaves_a_cancelled_row(db_path: Path) -> None:
    journal = Journal(db_path)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    task = asyncio.create_task(journal.abegin(REQUEST, source="t", model_requested="auto"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    blocker.execute("COMMIT")
    blocker.close()
    for _ in range(500):  # the row is written anyway, then marked cancelled by the writer
        rows = journal.list()
        if rows and rows[0].status == "cancelled":
            break
        await asyncio.sleep(0.01)
    assert [e.status for e in journal.list()] == ["cancelled"]
    journal.close()
