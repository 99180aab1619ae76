"""Replay: re-run journaled requests (failed, interrupted, queued, or one by id) through the engine.

A replay is a new journal row linked to the original (``replay_of``), so history is never rewritten.
``watch`` waits for a backend to come back before replaying queued work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from offload.engine import Engine, RequestContext
from offload.errors import InvalidRequest, OffloadError
from offload.routing.task import Task
from offload.store.entries import JournalEntry
from offload.types import ChatRequest, ChatResponse

WHICH = ("failed", "interrupted", "queued")


@dataclass
class ReplayOutcome:
    """What happened when one entry was replayed."""

    original: str
    new_id: str | None
    ok: bool
    response: ChatResponse | None = None
    error: str | None = None


def request_of(entry: JournalEntry) -> ChatRequest:
    """The canonical request stored in a journal entry (already redacted when it was written)."""
    try:
        return ChatRequest.model_validate(entry.request)
    except ValueError as exc:
        raise InvalidRequest(
            f"journal entry {entry.id} holds no replayable request", hint="it may predate the current format"
        ) from exc


async def replay_entry(engine: Engine, entry: JournalEntry) -> ReplayOutcome:
    """Re-run one entry; the new row is linked to the old one."""
    req = request_of(entry)
    ctx = RequestContext(source="replay", dialect=entry.dialect, client=entry.client)
    jid = await engine.begin(req, ctx, entry.kind)
    await engine.journal.alink_replay(entry.id, jid)
    task = Task(request=req, kind=entry.kind)
    try:
        resp = await engine.run(task, ctx, journal_id=jid)
    except OffloadError as exc:
        return ReplayOutcome(entry.id, jid, False, error=str(exc))
    return ReplayOutcome(entry.id, jid, True, response=resp)


async def replay(engine: Engine, *, ids: list[str] | None = None, which: str | None = None) -> list[ReplayOutcome]:
    """Replay the given ids, or every not-yet-replayed entry of kind ``which`` (oldest first)."""
    if which is not None and which not in WHICH:
        raise InvalidRequest(f"cannot replay {which!r}", hint=f"use one of {', '.join(WHICH)}")
    entries = (
        [await engine.journal.aget(i) for i in ids] if ids else await engine.journal.afor_replay(which or "failed")
    )
    return [await replay_entry(engine, e) for e in entries]


async def watch(
    engine: Engine,
    *,
    interval_s: float = 5.0,
    timeout_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> list[ReplayOutcome]:
    """Wait until some backend answers its health check, then replay the queued entries."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    while True:
        if any(h.ok for h in await engine.health()):
            return await replay(engine, which="queued")
        if deadline is not None and loop.time() >= deadline:
            return []
        if on_wait:
            on_wait("no backend is up yet; waiting")
        await asyncio.sleep(interval_s)
