"""Read-only dashboard API: overview, requests (list, detail, live events), savings, models, bench sets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

from offload import __version__
from offload.dashboard import bench, views
from offload.dashboard.http import API_HEADERS, BASE_HEADERS, REPORT_CSP, Call, Reply, as_int
from offload.errors import InvalidRequest, NotFound, OffloadError
from offload.replay import request_of
from offload.routing.classify import classify
from offload.routing.task import Task
from offload.server.asgi import ClientDisconnected, StreamSink, run_until_disconnect
from offload.store.entries import STATUSES
from offload.store.ledger import Period, period_start

#: An event stream ends after this long; EventSource reconnects (and the page reloads its list).
STREAM_MAX_S = 300.0
KEEPALIVE_S = 15.0


async def session(call: Call) -> Any:
    """Whether the dashboard needs the key, whether this caller has shown it, and the CSRF token."""
    who = call.dash.guard.caller(call.headers)
    return {
        "auth_required": call.dash.guard.auth_required,
        "authenticated": who.authenticated,
        "csrf_token": call.dash.guard.csrf_token,
        "version": __version__,
    }


async def overview(call: Call) -> Any:
    """Backend health, loaded models against the budget, today's traffic and the avoided cloud cost."""
    d = call.dash
    eng = d.engine
    health, loaded, budget = await asyncio.gather(eng.health(), d.loaded_models(), d.budget())
    ledger = eng.ledger
    today, week, total = await asyncio.gather(
        asyncio.to_thread(ledger.summary, period_start("today")),
        asyncio.to_thread(ledger.summary, period_start("7d")),
        asyncio.to_thread(ledger.summary),
    )
    pending = await asyncio.to_thread(eng.journal.query, "SELECT COUNT(*) AS n FROM requests WHERE status = 'pending'")
    recent = await eng.journal.alist(limit=8)
    backends = []
    for h in health:
        cfg = eng.config.backends.get(h.backend)
        br = eng.board.breaker(h.backend).snapshot()
        backends.append(
            {
                "name": h.backend,
                "kind": cfg.kind if cfg else "?",
                "cloud": bool(cfg and cfg.is_cloud),
                "ok": h.ok,
                "latency_ms": round(h.latency_s * 1000, 1) if h.latency_s is not None else None,
                "detail": eng.redactor.text(h.detail),
                "hint": eng.redactor.text(h.hint) if h.hint else None,
                "breaker": br.state,
                "models": [m.name for m in eng.config.models if m.backend == h.backend],
            }
        )
    used = round(sum(m["vram_gb"] or 0.0 for m in loaded), 2)
    return {
        "version": __version__,
        "backends": backends,
        "loaded": loaded,
        "budget": budget,
        "vram_used_gb": used,
        "today": views.totals(today),
        "avoided": {"today": today.avoided_usd, "7d": week.avoided_usd, "all": total.avoided_usd},
        "totals": views.totals(total),
        "pending": int(pending[0]["n"]) if pending else 0,
        "recent": [views.summary(e, eng.redactor) for e in recent],
    }


def _filters(q: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    status = q.get("status")
    if status:
        if status == "failed":
            status = "error"
        if status not in STATUSES:
            raise InvalidRequest(f"unknown status {status!r}", hint=f"use one of {', '.join(sorted(STATUSES))}")
        out["status"] = status
    for key in ("source", "model", "kind", "dialect", "client", "search"):
        if q.get(key):
            out[key] = q[key][:200]
    if q.get("before"):
        try:
            out["until"] = float(q["before"])
        except ValueError as exc:
            raise InvalidRequest("before must be a unix timestamp") from exc
    return out


#: The columns whose values ``facets=1`` lists, for the filter selects of the requests page.
FACETS = ("dialect", "client")


async def requests_list(call: Call) -> Any:
    """Journal entries, newest first, with the journal's filters (status, source, model, kind, dialect, client,
    search); with ``facets=1`` also the dialects and clients present in the journal, to offer as filters."""
    q = call.query
    limit = as_int(q, "limit", 100, 1, 500)
    journal = call.dash.engine.journal
    entries = await journal.alist(limit=limit, **_filters(q))
    red = call.dash.engine.redactor
    out: dict[str, Any] = {"requests": [views.summary(e, red) for e in entries], "limit": limit}
    if q.get("facets") in ("1", "true"):
        values = await asyncio.gather(*(journal.adistinct_values(c) for c in FACETS))
        out["facets"] = dict(zip(FACETS, values, strict=True))
    return out


def _profile(entry: Any) -> dict[str, Any] | None:
    stored = (entry.route or {}).get("profile") or None
    try:
        prof = classify(Task(request=request_of(entry), kind=entry.kind))
    except (OffloadError, ValueError):
        return stored
    out = asdict(prof)
    out["reasons"] = list(prof.reasons)
    if stored:
        out.update({k: v for k, v in stored.items() if v is not None})
    return out


async def request_detail(call: Call) -> Any:
    """One entry: profile, route, every attempt with its verdict, timings, the redacted prompt and answer."""
    eng = call.dash.engine
    entry = await eng.journal.aget(call.params["id"])
    out = views.detail(entry, eng.redactor)
    out["profile"] = eng.redactor.obj(_profile(entry))
    return out


async def events(call: Call) -> Reply | None:
    """Server-sent events: ``request`` (a list row, new or changed), ``pull`` (progress), ``resync``."""
    req = call.req
    sink = StreamSink(req.send, "text/event-stream; charset=utf-8", list(API_HEADERS))
    hub = call.dash.hub

    async def pump() -> None:
        deadline = time.monotonic() + STREAM_MAX_S
        async with hub.subscribe() as sub:
            await sink.write(b"retry: 1500\n: connected\n\n")
            while time.monotonic() < deadline:
                try:
                    ev = await asyncio.wait_for(sub.get(), KEEPALIVE_S)
                except TimeoutError:
                    await sink.write(b": keep-alive\n\n")
                    continue
                data = json.dumps(ev.data, ensure_ascii=False, separators=(",", ":"), default=str)
                await sink.write(f"event: {ev.kind}\ndata: {data}\n\n".encode())

    with contextlib.suppress(ClientDisconnected):
        await run_until_disconnect(req.receive, pump())
        await sink.close()
    return None


async def savings(call: Call) -> Any:
    """Per day (the last ``days``), per model and per kind; local vs cloud tokens; verified vs unverified."""
    days = as_int(call.query, "days", 30, 1, 366)
    ledger = call.dash.engine.ledger
    now = datetime.now().astimezone()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() - (days - 1) * 86400.0
    since = None if call.query.get("range") == "all" else start
    by_day, by_model, by_kind = await asyncio.gather(
        asyncio.to_thread(ledger.breakdown, "day", start),
        asyncio.to_thread(ledger.breakdown, "model", since),
        asyncio.to_thread(ledger.breakdown, "kind", since),
    )
    total = await asyncio.to_thread(ledger.summary, since)
    names: tuple[Period, ...] = ("today", "7d", "all")
    periods: dict[str, float] = await asyncio.to_thread(lambda: {p: ledger.avoided(p) for p in names})
    return views.savings(by_day, by_model, by_kind, total, periods, days=days, now=now)


async def models(call: Call) -> Any:
    """The inventory (roles, sizes, installed, loaded), models loaded outside it, the budget and the pulls."""
    d = call.dash
    eng = d.engine
    loaded, budget = await asyncio.gather(d.loaded_models(), d.budget())
    by_name = {m["name"]: m for m in loaded}
    installed = await d.installed_models()
    rows = []
    for spec in eng.config.models:
        b = eng.backend(spec.backend)
        caps = b.capabilities
        inv = installed.get(spec.backend)
        have: bool | None
        if b.kind == "embedded":
            have = True
        elif inv is None:
            have = None
        else:
            have = spec.upstream_name in inv or f"{spec.upstream_name}:latest" in inv
        rows.append(
            views.inventory_row(
                spec, eng.config, backend_kind=b.kind, can_pull=caps.pull, can_load=caps.keep_alive,
                installed=have, loaded=by_name.get(spec.name),
            )
        )  # fmt: skip
    known = {m.name for m in eng.config.models}
    return {
        "models": rows,
        "other_loaded": [m for m in loaded if m["name"] not in known],
        "budget": budget,
        "vram_used_gb": round(sum(m["vram_gb"] or 0.0 for m in loaded), 2),
        "pulls": d.pulls.list(),
    }


async def pulls(call: Call) -> Any:
    """Running and recent pulls."""
    return {"pulls": call.dash.pulls.list()}


async def bench_sets(call: Call) -> Any:
    """Every bench result set found, with pass counts per profile and whether it has a report."""
    roots = call.dash.bench_roots()
    sets = await asyncio.to_thread(lambda: [bench.describe(s) for s in bench.find_sets(roots)])
    return {"roots": [str(r) for r in roots], "sets": sets}


async def bench_report(call: Call) -> Reply:
    """A set's self-contained HTML report, served under a CSP that runs no script."""
    set_id = call.query.get("set") or ""
    s = await asyncio.to_thread(bench.lookup, call.dash.bench_roots(), set_id)
    report = s.report
    if report is None:
        raise NotFound(f"result set {set_id!r} has no report yet", hint="press 'Write report' on the Bench page")
    body = await asyncio.to_thread(report.read_bytes)
    headers = [*BASE_HEADERS, (b"content-security-policy", REPORT_CSP.encode()), (b"cache-control", b"no-store")]
    return Reply(body, 200, headers, content_type="text/html; charset=utf-8")
