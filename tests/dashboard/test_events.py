"""The live-event plumbing (journal watcher, hub) and the dashboard guard, without a server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from offload.dashboard import CSRF_HEADER, SESSION_COOKIE, EventHub, Guard, JournalWatcher
from offload.dashboard.guard import CrossSiteRefused
from offload.errors import AuthError
from offload.store.journal import Journal
from offload.types import Attempt, Usage


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.db")
    yield j
    j.close()


def begin(j: Journal, text: str = "hi") -> str:
    req = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    return j.begin(req, source="api", model_requested="m")


def test_watcher_reports_new_rows_attempts_and_outcomes_once(journal: Journal) -> None:
    w = JournalWatcher(journal)
    assert w.changed() == []
    rid = begin(journal)
    [e] = w.changed()
    assert e.id == rid and e.status == "pending"
    assert w.changed() == []
    journal.record_attempt(rid, Attempt(n=1, backend="b", model="m", usage=Usage(input_tokens=3)))
    [e] = w.changed()
    assert len(e.attempts) == 1 and e.status == "pending"
    journal.finish(rid, status="ok", usage=Usage(input_tokens=3, output_tokens=2), model="m", backend="b")
    [e] = w.changed()
    assert e.status == "ok"
    assert w.changed() == []


def test_watcher_follows_a_pending_row_older_than_the_lookback(journal: Journal) -> None:
    now = [1_000.0]
    rid = begin(journal)
    w = JournalWatcher(journal, lookback_s=0.0, clock=lambda: now[0])
    assert [e.id for e in w.changed()] == [rid]
    now[0] = 10.0**10  # far later: the row leaves the created_at window but is still pending
    assert w.changed() == []
    journal.finish(rid, status="error", error={"code": "x", "message": "boom"})
    [e] = w.changed()
    assert e.id == rid and e.status == "error"


async def test_hub_fans_out_and_stops_polling_without_subscribers(journal: Journal) -> None:
    hub = EventHub(journal, lambda e: {"id": e.id, "status": e.status}, interval_s=0.01)
    a, b = hub.subscribe(), hub.subscribe()
    rid = await journal.abegin({"messages": []}, source="api", model_requested="m")
    ev_a = await asyncio.wait_for(a.get(), 5)
    ev_b = await asyncio.wait_for(b.get(), 5)
    assert ev_a.kind == ev_b.kind == "request" and ev_a.data == {"id": rid, "status": "pending"}
    hub.publish("pull", {"model": "x"})
    assert (await a.get()).kind == "pull"
    a.close()
    b.close()
    assert hub.subscribers == 0 and hub._task is None
    await hub.aclose()


async def test_a_slow_subscriber_gets_one_resync_instead_of_a_flood(journal: Journal) -> None:
    hub = EventHub(journal, lambda e: {}, queue_size=3)
    async with hub.subscribe() as sub:
        for i in range(10):
            hub.publish("pull", {"n": i})
        kinds = [(await sub.get()).kind for _ in range(4)]
        assert kinds == ["pull", "pull", "pull", "resync"]
        hub.publish("pull", {"n": 99})
        assert (await sub.get()).data == {"n": 99}
    await hub.aclose()


# -- the guard -----------------------------------------------------------------------------------------------
def test_guard_without_a_key_lets_everyone_read_but_checks_writes() -> None:
    g = Guard(None)
    assert g.require({}).via == "open"
    with pytest.raises(CrossSiteRefused):
        g.check_csrf({"host": "127.0.0.1:8787"})
    g.check_csrf({"host": "127.0.0.1:8787", CSRF_HEADER: g.csrf_token, "origin": "http://127.0.0.1:8787"})
    with pytest.raises(CrossSiteRefused):
        g.check_csrf({"host": "127.0.0.1:8787", CSRF_HEADER: g.csrf_token, "origin": "http://127.0.0.1:9999"})
    with pytest.raises(CrossSiteRefused):
        g.check_csrf({"host": "127.0.0.1:8787", CSRF_HEADER: g.csrf_token, "sec-fetch-site": "same-site"})
    with pytest.raises(CrossSiteRefused):
        g.check_same_origin({"host": "a", "sec-fetch-site": "cross-site"}, state_changing=False)
    g.check_same_origin({"host": "a", "sec-fetch-site": "none"}, state_changing=False)  # typed into the address bar
    assert Guard(None).csrf_token != g.csrf_token


def test_guard_with_a_key_takes_the_key_or_a_live_session() -> None:
    now = [0.0]
    g = Guard("k" * 20, clock=lambda: now[0])
    with pytest.raises(AuthError):
        g.require({})
    assert g.require({"authorization": "Bearer " + "k" * 20}).via == "key"
    assert g.require({"x-api-key": "k" * 20}).via == "key"
    assert g.login("wrong") is None
    sid = g.login("k" * 20)
    assert sid is not None
    cookie = {"cookie": f"theme=dark; {SESSION_COOKIE}={sid}"}
    assert g.require(cookie).via == "session"
    now[0] = 13 * 3600.0  # sessions last 12 hours
    assert not g.caller(cookie).authenticated
    sid2 = g.login("k" * 20)
    g.logout({"cookie": f"{SESSION_COOKIE}={sid2}"})
    assert not g.caller({"cookie": f"{SESSION_COOKIE}={sid2}"}).authenticated
    value = Guard.session_cookie("abc", secure=True).decode()
    assert "HttpOnly" in value and "SameSite=Strict" in value and "Secure" in value and "Path=/ui" in value
