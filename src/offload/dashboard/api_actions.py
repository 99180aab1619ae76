"""State-changing dashboard API (every handler here runs after the CSRF and same-origin checks).

Sign in and out, replay a failed / queued / interrupted request, pull / load / unload a model, write a bench
report.
"""

from __future__ import annotations

import asyncio
from typing import Any

from offload.dashboard import bench, views
from offload.dashboard.guard import Guard
from offload.dashboard.http import Call, Reply, as_str
from offload.errors import AuthError, InvalidRequest
from offload.models.ops import ModelManager
from offload.replay import replay_entry

#: A wrong key costs the caller this long (slows guessing; a right key is answered at once).
LOGIN_FAILURE_DELAY_S = 0.5


class NotReplayable(InvalidRequest):
    code = "not_replayable"
    http_status = 409


async def login(call: Call) -> Reply:
    """Check the gateway's API key and set an HttpOnly, SameSite=Strict session cookie."""
    guard = call.dash.guard
    if not guard.auth_required:
        return Reply({"authenticated": True, "auth_required": False})
    key = as_str(await call.json(), "key", limit=4096) or ""
    sid = guard.login(key)
    if sid is None:
        await asyncio.sleep(LOGIN_FAILURE_DELAY_S)
        raise AuthError("wrong API key", hint="use the value of the gateway's $OFFLOAD_API_KEY")
    secure = call.req.scope.get("scheme") == "https"
    cookie = Guard.session_cookie(sid, secure=secure)
    return Reply({"authenticated": True, "auth_required": True}, headers=[(b"set-cookie", cookie)])


async def logout(call: Call) -> Reply:
    """Drop the caller's session cookie."""
    call.dash.guard.logout(call.headers)
    secure = call.req.scope.get("scheme") == "https"
    return Reply(
        {"authenticated": False}, headers=[(b"set-cookie", Guard.session_cookie("", secure=secure, max_age=0))]
    )


async def replay(call: Call) -> Any:
    """Re-run a failed, queued or interrupted request; the new row is linked to the old one."""
    eng = call.dash.engine
    entry = await eng.journal.aget(call.params["id"])
    if entry.status not in views.REPLAYABLE:
        raise NotReplayable(
            f"request {entry.id} is {entry.status}: only failed, queued and interrupted requests are replayed",
            hint="run the prompt again in the Playground instead",
        )
    if entry.replayed_by:
        raise NotReplayable(
            f"request {entry.id} was already replayed as {entry.replayed_by[-1]}",
            hint="open the replay to see how it went; replay that one if it failed too",
        )
    outcome = await replay_entry(eng, entry)
    return {
        "original": outcome.original,
        "id": outcome.new_id,
        "ok": outcome.ok,
        "error": eng.redactor.text(outcome.error) if outcome.error else None,
    }


def _manager(call: Call) -> ModelManager:
    return ModelManager.from_engine(call.dash.engine)


async def pull(call: Call) -> Reply:
    """Start pulling an inventory model in the background; progress arrives as ``pull`` events."""
    name = as_str(await call.json(), "model")
    job = call.dash.pulls.start(name or "")
    return Reply({"job": job.to_dict()}, status=202)


async def load(call: Call) -> Any:
    """Load a model now and keep it for ``keep_alive`` (default ``[defaults] keep_alive``)."""
    body = await call.json()
    name = as_str(body, "model") or ""
    keep = body.get("keep_alive")
    if keep is not None and not isinstance(keep, str | int):
        raise InvalidRequest("keep_alive must be a duration like 30m, a number of seconds, 0 or -1")
    mgr = _manager(call)
    used = await mgr.load(name, keep)
    call.dash.engine.residency.note_loaded(mgr.spec(name).name)
    return {"model": name, "keep_alive": used}


async def unload(call: Call) -> Any:
    """Unload a model now."""
    name = as_str(await call.json(), "model") or ""
    await _manager(call).unload(name)
    call.dash.engine.residency.invalidate()
    return {"model": name, "unloaded": True}


async def write_report(call: Call) -> Any:
    """(Re)write a bench result set's HTML report."""
    set_id = as_str(await call.json(), "set", limit=1000) or ""
    s = await asyncio.to_thread(bench.lookup, call.dash.bench_roots(), set_id)
    await asyncio.to_thread(bench.write_set_report, s)
    return await asyncio.to_thread(bench.describe, s)
