"""Pure views: journal entries, ledger totals and inventory rows turned into the JSON the pages render.

Nothing here does I/O. Text that came from users or models (prompts, answers, errors, headers) is passed
through the engine's :class:`~offload.redact.Redactor` once more before it leaves the process — the journal
already stores it redacted; this is the belt to that pair of braces.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from offload.config import Config, ModelSpec
from offload.redact import Redactor
from offload.store.entries import JournalEntry
from offload.store.ledger import LedgerTotals

#: Statuses the Requests page offers to replay (the journal's "failed" is the status ``error``).
REPLAYABLE = frozenset({"error", "queued", "interrupted"})
PREVIEW_CHARS = 140


def _last_user_text(request: dict[str, Any]) -> str:
    for m in reversed(request.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "user":
            return _text_of(m)
    return ""


def _text_of(message: dict[str, Any]) -> str:
    parts = message.get("content") or []
    if isinstance(parts, str):
        return parts
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def latency_s(entry: JournalEntry) -> float | None:
    """Wall time from the journal row to the final status (None while pending)."""
    if entry.finished_at is None:
        return None
    return max(0.0, entry.finished_at - entry.created_at)


def summary(entry: JournalEntry, redactor: Redactor) -> dict[str, Any]:
    """One row of the Requests list."""
    usage = entry.usage
    return {
        "id": entry.id,
        "created_at": entry.created_at,
        "status": entry.status,
        "source": entry.source,
        "dialect": entry.dialect,
        "client": entry.client,
        "kind": entry.kind or ((entry.route or {}).get("profile") or {}).get("kind"),
        "model_requested": entry.model_requested,
        "model": entry.model,
        "backend": entry.backend,
        "verdict": entry.verdict,
        "local": entry.local,
        "latency_s": latency_s(entry),
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "attempts": len(entry.attempts),
        "avoided_usd": entry.avoided_usd,
        "replay_of": entry.replay_of,
        "replayed_by": list(entry.replayed_by),
        "replayable": entry.status in REPLAYABLE and not entry.replayed_by,
        "preview": redactor.text(_preview(_last_user_text(entry.request or {}))),
    }


def _prompt(request: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    messages = []
    for m in request.get("messages") or []:
        if not isinstance(m, dict):
            continue
        parts = m.get("content") or []
        images = (
            sum(1 for p in parts if isinstance(p, dict) and p.get("type") == "image") if isinstance(parts, list) else 0
        )
        calls = [
            {"name": c.get("name", ""), "arguments": c.get("arguments", {})}
            for c in m.get("tool_calls") or []
            if isinstance(c, dict)
        ]
        messages.append({"role": m.get("role", "?"), "text": _text_of(m), "images": images, "tool_calls": calls})
    params = {
        k: request.get(k)
        for k in ("model", "temperature", "top_p", "max_tokens", "seed", "stream")
        if request.get(k) is not None
    }
    fmt = (request.get("response_format") or {}).get("type")
    if fmt and fmt != "text":
        params["response_format"] = fmt
    tools = [t.get("name", "") for t in request.get("tools") or [] if isinstance(t, dict)]
    return redactor.obj({"system": request.get("system"), "messages": messages, "tools": tools, "params": params})


def detail(entry: JournalEntry, redactor: Redactor) -> dict[str, Any]:
    """Everything the detail view shows: profile, route, attempts with verdicts, timings, prompt and answer."""
    out = summary(entry, redactor)
    route = entry.route or {}
    resp = entry.response or {}
    timings = resp.get("timings") or {}
    out["profile"] = route.get("profile")
    out["route"] = {
        "candidates": list(route.get("candidates") or []),
        "reason": redactor.text(str(route.get("reason") or "")),
        "stopped_because": redactor.text(str(route.get("stopped_because") or "")),
    }
    out["attempt_list"] = [
        {
            "n": a.n,
            "backend": a.backend,
            "model": a.model,
            "status": a.status,
            "verdict": a.verdict,
            "detail": redactor.text(a.detail),
            "latency_s": a.latency_s,
            "input_tokens": a.usage.input_tokens,
            "output_tokens": a.usage.output_tokens,
            "cost_equiv_usd": a.cost_equiv_usd,
            "local": a.local,
        }
        for a in entry.attempts
    ]
    out["timings"] = {
        "created_at": entry.created_at,
        "finished_at": entry.finished_at,
        "total_s": latency_s(entry),
        "backend_s": sum(a.latency_s for a in entry.attempts) or None,
        "ttft_s": timings.get("ttft_s"),
        "tokens_per_s": timings.get("tokens_per_s"),
    }
    out["prompt"] = _prompt(entry.request or {}, redactor)
    answer: dict[str, Any] | None = None
    if resp:
        answer = {
            "content": resp.get("content", ""),
            "finish_reason": resp.get("finish_reason"),
            "tool_calls": [
                {"name": c.get("name", ""), "arguments": c.get("arguments", {})}
                for c in resp.get("tool_calls") or []
                if isinstance(c, dict)
            ],
            "partial": False,
        }
    elif entry.partial_output:
        answer = {"content": entry.partial_output, "finish_reason": None, "tool_calls": [], "partial": True}
    out["answer"] = redactor.obj(answer)
    err = entry.error or None
    out["error"] = (
        redactor.obj({k: err.get(k) for k in ("code", "message", "hint", "type") if err.get(k) is not None})
        if err
        else None
    )
    out["headers"] = redactor.headers({k: v for k, v in entry.headers.items() if k.lower() != "cookie"})
    out["reference_model"] = entry.reference_model
    out["cost_equiv_usd"] = entry.cost_equiv_usd
    return out


# -- savings -------------------------------------------------------------------------------------------------
def totals(t: LedgerTotals) -> dict[str, Any]:
    """Ledger totals as JSON (with the derived rate and token sums)."""
    return t.to_dict()


def fill_days(rows: list[LedgerTotals], start: date, end: date) -> list[dict[str, Any]]:
    """One entry per calendar day from ``start`` to ``end`` (inclusive), zeros where nothing happened."""
    by_key = {r.key: r for r in rows}
    out = []
    day = start
    while day <= end:
        key = day.isoformat()
        out.append(totals(by_key.get(key) or LedgerTotals(key=key)))
        day += timedelta(days=1)
    return out


def savings(
    by_day: list[LedgerTotals],
    by_model: list[LedgerTotals],
    by_kind: list[LedgerTotals],
    total: LedgerTotals,
    periods: dict[str, float],
    *,
    days: int,
    now: datetime,
) -> dict[str, Any]:
    """The Savings page: per day (filled), per model and per kind, the totals and avoided cost per period."""
    end = now.date()
    start = end - timedelta(days=max(1, days) - 1)
    return {
        "days": days,
        "by_day": fill_days(by_day, start, end),
        "by_model": sorted((totals(r) for r in by_model), key=lambda r: -(r["tokens_local"] + r["tokens_cloud"])),
        "by_kind": sorted((totals(r) for r in by_kind), key=lambda r: -r["requests"]),
        "total": totals(total),
        "avoided": periods,
    }


# -- models --------------------------------------------------------------------------------------------------
def inventory_row(
    spec: ModelSpec,
    config: Config,
    *,
    backend_kind: str,
    can_pull: bool,
    can_load: bool,
    installed: bool | None,
    loaded: dict[str, Any] | None,
) -> dict[str, Any]:
    """One model of the inventory with where it lives, what it is for, and whether it is here and loaded."""
    cfg = config.backends.get(spec.backend)
    return {
        "name": spec.name,
        "backend": spec.backend,
        "backend_kind": backend_kind,
        "upstream": spec.upstream_name,
        "roles": list(spec.roles),
        "capabilities": list(spec.capabilities),
        "vram_gb": spec.vram_gb,
        "context_window": spec.context_window,
        "required": spec.required,
        "quantization": spec.quantization,
        "description": spec.description,
        "cloud": bool(cfg and cfg.is_cloud),
        "installed": installed,
        "loaded": loaded is not None,
        "loaded_vram_gb": loaded.get("vram_gb") if loaded else None,
        "expires_in": loaded.get("expires_in") if loaded else None,
        "can_pull": can_pull,
        "can_load": can_load,
    }
