"""``offload route``: show where a prompt would go, without running anything."""

from __future__ import annotations

import typer

from offload.cli.common import console, print_json, state
from offload.cli.run import explain_route


def register(app: typer.Typer) -> None:
    app.command("route")(route)


def route(
    ctx: typer.Context,
    prompt: str = typer.Argument(..., help="The prompt to classify and route."),
    model: str = typer.Option("auto", "--model", "-m"),
    kind: str | None = typer.Option(None, "--kind", help="Task kind hint."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the task profile and the ordered candidates (with reasons), running nothing."""
    r = state(ctx).offload().route(prompt, model=model, kind=kind)
    if as_json:
        to_dict = getattr(r, "to_dict", None)
        print_json(to_dict() if callable(to_dict) else str(r))
        return
    console.print(explain_route(r), highlight=False)
