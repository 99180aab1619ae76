"""``offload verify FILE|ID``: check a signed provenance record and say exactly what does not match."""

from __future__ import annotations

import typer
from rich.markup import escape

from offload.cli.common import console, print_json, state


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)


def verify(
    ctx: typer.Context,
    target: str = typer.Argument(
        ..., help="A file offload wrote, its .provenance.json record, or a record/journal id."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check a provenance record: signature, key, output hash, prompt hash. Exit 1 when something does not match."""
    from offload.workers.provenance_check import verify_target

    report = verify_target(target, journal=state(ctx).offload().engine.journal)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(f"record {report.record_id} ({report.kind}) from {escape(report.source)}", highlight=False)
        for c in report.checks:
            mark = {True: "[green]ok[/]  ", False: "[red]FAIL[/]", None: "[yellow]n/a[/] "}[c.ok]
            console.print(f"{mark} {c.name:<9} {escape(c.detail)}", highlight=False)
        console.print("verified" if report.ok else f"NOT verified: {len(report.problems)} problem(s)", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
