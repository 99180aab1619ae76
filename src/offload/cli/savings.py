"""``offload savings``: avoided cloud cost, local acceptance, unverified answers shown apart."""

from __future__ import annotations

import typer
from rich.table import Table

from offload.cli.common import console, print_json, state
from offload.cli.log import parse_since


def register(app: typer.Typer) -> None:
    app.command("savings")(savings)


def savings(
    ctx: typer.Context,
    by: str = typer.Option("day", "--by", help="day, model or kind"),
    since: str | None = typer.Option(None, "--since", help="e.g. 7d, 2026-11-01"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What local answers saved, priced at cloud rates (verified answers only count as avoided)."""
    if by not in ("day", "model", "kind"):
        from offload.errors import InvalidRequest

        raise InvalidRequest(f"cannot break down by {by!r}", hint="use --by day, --by model or --by kind")
    ledger = state(ctx).offload().engine.ledger
    start = parse_since(since)
    total = ledger.summary(since=start)
    rows = ledger.breakdown(by, since=start)  # type: ignore[arg-type]
    if as_json:
        print_json(
            {
                "total": total.to_dict(),
                "by": by,
                "rows": [r.to_dict() for r in rows],
                "avoided": {p: ledger.avoided(p) for p in ("today", "7d", "all")},
            }
        )
        return
    t = Table(
        by,
        "requests",
        "local ok",
        "verified",
        "unverified",
        "local tokens",
        "cloud tokens",
        "cloud $",
        "avoided $",
        "unverified $",
        title=f"savings by {by}",
    )
    for r in [*rows, total]:
        style = "bold" if r is total else None
        t.add_row(
            "total" if r is total else r.key,
            str(r.requests),
            str(r.local_accepted),
            str(r.verified_local),
            str(r.unverified_local),
            str(r.tokens_local),
            str(r.tokens_cloud),
            f"{r.cloud_spend_usd:.4f}",
            f"{r.avoided_usd:.4f}",
            f"{r.unverified_avoided_usd:.4f}",
            style=style,
        )
    console.print(t)
    console.print(
        f"local acceptance {total.local_acceptance_rate:.0%} · avoided today ${ledger.avoided('today'):.4f} · "
        f"7 days ${ledger.avoided('7d'):.4f} · all time ${ledger.avoided('all'):.4f} "
        "(unverified local answers are not counted as avoided)",
        highlight=False,
    )
