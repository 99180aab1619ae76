"""``offload log`` (list, filter, show one), ``offload log prune`` and ``offload replay``."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import typer
from rich.panel import Panel
from rich.table import Table
from typer.core import TyperCommand

from offload.cli.common import console, err_console, print_json, state
from offload.errors import InvalidRequest
from offload.store.entries import JournalEntry
from offload.store.retention import PRUNABLE, PruneReport, check_statuses

STATUS_STYLE = {
    "ok": "green",
    "error": "red",
    "cancelled": "yellow",
    "interrupted": "magenta",
    "queued": "cyan",
    "pending": "blue",
}


class _LogCommand(TyperCommand):
    """``offload log [ID]``, which also runs ``offload log prune …`` (a journal id, a ULID, is never "prune")."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # (``Any``: typer bundles its own click, whose Context type is private)
        if args and args[0] == "prune":
            prune_app = typer.Typer(add_completion=False)
            prune_app.command("prune")(prune)
            command = typer.main.get_command(prune_app)
            return command.make_context(f"{info_name} prune", args[1:], parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


def register(app: typer.Typer) -> None:
    app.command("log", cls=_LogCommand)(log)
    app.command("replay")(replay)


def parse_since(value: str | None) -> datetime | None:
    """``30m``, ``12h``, ``7d`` or an ISO date/time."""
    if not value:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now() - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"cannot read --since {value!r}", hint="use e.g. 30m, 12h, 7d or 2026-11-01") from None


def log(
    ctx: typer.Context,
    entry_id: str | None = typer.Argument(None, help="Show one entry in full."),
    status: str | None = typer.Option(None, "--status", help="ok, error, cancelled, interrupted, queued, pending"),
    source: str | None = typer.Option(None, "--source", help="cli, api, gateway, mcp, bench, replay"),
    model: str | None = typer.Option(None, "--model"),
    kind: str | None = typer.Option(None, "--kind"),
    dialect: str | None = typer.Option(None, "--dialect", help="openai, anthropic, ollama, responses"),
    client: str | None = typer.Option(None, "--client", help="e.g. claude-code, openai-python"),
    since: str | None = typer.Option(None, "--since", help="e.g. 30m, 12h, 7d, 2026-11-01"),
    search: str | None = typer.Option(None, "--search", help="Text in the prompt or answer."),
    limit: int = typer.Option(30, "--limit", "-n", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List journal entries (newest first), or show one with its attempts.

    Delete old entries with `offload log prune --older-than 30d` (see `offload log prune --help`).
    """
    journal = state(ctx).offload().engine.journal
    if entry_id:
        entry = journal.get(entry_id)
        if as_json:
            print_json(entry.model_dump(mode="json"))
        else:
            show_entry(entry)
        return
    entries = journal.list(
        status=status, source=source, model=model, kind=kind, dialect=dialect, client=client,
        since=parse_since(since), search=search, limit=limit,
    )  # fmt: skip
    if as_json:
        print_json([e.model_dump(mode="json", exclude={"request", "response", "headers"}) for e in entries])
        return
    t = Table("id", "time", "status", "source", "kind", "model", "verdict", "tokens", "attempts", title="journal")
    for e in entries:
        toks = f"{e.usage.input_tokens}/{e.usage.output_tokens}" if e.usage else "-"
        t.add_row(
            e.id,
            e.created.astimezone().strftime("%m-%d %H:%M:%S"),
            f"[{STATUS_STYLE.get(e.status, 'white')}]{e.status}[/]",
            e.source,
            e.kind or "-",
            e.model or e.model_requested,
            e.verdict or "-",
            toks,
            str(len(e.attempts)),
        )
    console.print(t)
    if not entries:
        console.print("(no entries)", style="dim")


def prune(
    ctx: typer.Context,
    older_than: str = typer.Option(..., "--older-than", help="Delete entries older than this: 30d, 12h, 2026-01-01."),
    status: str | None = typer.Option(
        None, "--status", help=f"Only these statuses, comma-separated ({', '.join(sorted(PRUNABLE))}: the default)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
    vacuum: bool = typer.Option(False, "--vacuum", help="Then VACUUM, giving the space back to the file system."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete finished journal entries (and their attempts) older than --older-than.

    Pending and queued entries are never deleted, nor entries a kept replay points at.
    Savings totals stay whole: the figures of deleted entries are rolled up per day, kind and model.
    """
    older_than_s = _age(older_than)
    statuses = {s.strip() for s in status.split(",") if s.strip()} if status is not None else None
    try:
        check_statuses(statuses)
    except ValueError as exc:
        raise InvalidRequest(str(exc), hint=f"use --status with {', '.join(sorted(PRUNABLE))}") from None
    journal = state(ctx).offload().engine.journal
    if not (yes or dry_run):
        plan = journal.prune(older_than_s, statuses=statuses, dry_run=True)
        if plan.rows_deleted:
            typer.confirm(
                f"Delete {plan.rows_deleted} journal entries ({plan.attempts_deleted} attempts) created before "
                f"{plan.cutoff:%Y-%m-%d %H:%M}?",
                abort=True,
            )
    show_prune(journal.prune(older_than_s, statuses=statuses, dry_run=dry_run, vacuum=vacuum))


def _age(value: str) -> float:
    """Seconds from ``--older-than`` (``30d`` or a date), through the parser of ``--since``."""
    try:
        when = parse_since(value)
    except InvalidRequest:
        when = None
    if when is None:
        raise InvalidRequest(f"cannot read --older-than {value!r}", hint="use e.g. 30d, 12h or 2026-01-01")
    age = time.time() - when.timestamp()
    if age < 0:
        raise InvalidRequest(f"--older-than {value!r} is in the future", hint="give an age (30d) or a past date")
    return age


def _size(n: int) -> str:
    amount = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{n} B"  # pragma: no cover


def show_prune(r: PruneReport) -> None:
    """The report of a prune (or of a dry run) as a table."""
    verb = "would delete" if r.dry_run else "deleted"
    t = Table("", "", title="journal prune (dry run)" if r.dry_run else "journal prune", show_header=False)
    t.add_row("cutoff", f"created before {r.cutoff:%Y-%m-%d %H:%M:%S}")
    t.add_row("statuses", ", ".join(r.statuses))
    t.add_row(f"entries {verb}", str(r.rows_deleted))
    t.add_row(f"attempts {verb}", str(r.attempts_deleted))
    t.add_row("space freed" + (" (estimate)" if r.dry_run else ""), _size(r.bytes_freed))
    t.add_row("kept: a kept replay points at them", str(r.kept_linked))
    t.add_row("oldest remaining", f"{r.oldest_remaining:%Y-%m-%d %H:%M:%S}" if r.oldest_remaining else "-")
    t.add_row("database size", _size(r.size_bytes) + (" (after VACUUM)" if r.vacuumed else ""))
    console.print(t)
    if not r.complete:
        console.print("stopped before the end: run it again to finish", style="yellow")
    console.print("savings totals are kept (pruned entries are rolled up per day, kind and model)", style="dim")


def show_entry(e: JournalEntry) -> None:
    """One entry: header, prompt, answer or error, attempts, route."""
    head = (
        f"[bold]{e.id}[/]  {e.status}  source={e.source} dialect={e.dialect or '-'} client={e.client or '-'}\n"
        f"requested={e.model_requested} answered_by={e.model or '-'} ({e.backend or '-'}) kind={e.kind or '-'} "
        f"verdict={e.verdict or '-'} local={e.local}"
    )
    if e.replay_of:
        head += f"\nreplay of {e.replay_of}"
    if e.replayed_by:
        head += f"\nreplayed by {', '.join(e.replayed_by)}"
    console.print(Panel(head, title="entry"), highlight=False)
    msgs = e.request.get("messages", [])
    prompt = "\n".join(
        "".join(p.get("text", "") for p in m.get("content", []) if isinstance(p, dict))
        for m in msgs
        if isinstance(m, dict)
    )
    console.print(Panel(prompt[:4000] or "(empty)", title="prompt"), highlight=False, markup=False)
    if e.response:
        console.print(Panel(str(e.response.get("content", ""))[:4000], title="answer"), markup=False)
    if e.partial_output:
        console.print(Panel(e.partial_output[:4000], title="partial output"), markup=False)
    if e.error:
        console.print(Panel(json.dumps(e.error, indent=2), title="error", style="red"), markup=False)
    if e.attempts:
        t = Table("#", "model", "backend", "status", "verdict", "latency", "tokens", "cost≈$", "detail")
        for a in e.attempts:
            t.add_row(
                str(a.n),
                a.model,
                a.backend,
                a.status,
                a.verdict,
                f"{a.latency_s:.2f}s",
                f"{a.usage.input_tokens}/{a.usage.output_tokens}",
                f"{a.cost_equiv_usd or 0:.5f}",
                (a.detail or "")[:60],
            )
        console.print(t)
    if e.route and e.route.get("stopped_because"):
        console.print(f"stopped because: {e.route['stopped_because']}", highlight=False)


def replay(
    ctx: typer.Context,
    entry_id: list[str] = typer.Argument(None, help="Entry ids to replay."),
    failed: bool = typer.Option(False, "--failed", help="Replay every failed entry not replayed yet."),
    interrupted: bool = typer.Option(False, "--interrupted", help="Replay entries a crash left unfinished."),
    queued: bool = typer.Option(False, "--queued", help="Replay entries queued while every backend was down."),
    watch: bool = typer.Option(False, "--watch", help="With --queued: wait for a backend to come back first."),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Seconds between health checks with --watch."),
    timeout: float | None = typer.Option(None, "--timeout", help="Give up waiting after this many seconds."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-run journaled work; each replay is a new entry linked to the original."""
    from offload import replay as rp

    chosen = [w for w, on in (("failed", failed), ("interrupted", interrupted), ("queued", queued)) if on]
    if bool(entry_id) + len(chosen) != 1:
        raise InvalidRequest(
            "say what to replay", hint="give entry ids, or exactly one of --failed / --interrupted / --queued"
        )
    o = state(ctx).offload()
    if watch:
        if chosen != ["queued"]:
            raise InvalidRequest("--watch works with --queued", hint="offload replay --queued --watch")
        outcomes = o.call(
            rp.watch(
                o.engine, interval_s=interval, timeout_s=timeout, on_wait=lambda m: err_console.print(m, style="dim")
            )
        )
    else:
        outcomes = o.call(
            rp.replay(o.engine, ids=list(entry_id) if entry_id else None, which=chosen[0] if chosen else None)
        )
    if as_json:
        print_json([{"original": r.original, "new_id": r.new_id, "ok": r.ok, "error": r.error} for r in outcomes])
    else:
        t = Table("original", "replay", "result")
        for r in outcomes:
            t.add_row(r.original, r.new_id or "-", "[green]ok[/]" if r.ok else f"[red]{r.error}[/]")
        console.print(t if outcomes else "(nothing to replay)")
    if any(not r.ok for r in outcomes):
        raise typer.Exit(1)
