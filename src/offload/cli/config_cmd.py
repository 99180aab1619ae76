"""``offload config show``: the effective configuration, secrets masked."""

from __future__ import annotations

import json

import typer
from rich.syntax import Syntax

from offload.cli.common import console, print_json
from offload.config import load_config


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
    group.command("show")(show)
    group.command("path")(path)
    app.add_typer(group, name="config")


def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the effective config (file + defaults), with every secret masked."""
    cfg = load_config(ctx.find_root().obj.config_path)
    data = cfg.masked()
    if as_json:
        print_json(data)
        return
    console.print(f"# source: {data['source']}", highlight=False)
    console.print(Syntax(json.dumps(data, indent=2), "json", background_color="default"))


def path(ctx: typer.Context) -> None:
    """Print which config file is used (or that none is)."""
    from offload.config import default_config_path, find_config_path

    p = find_config_path(ctx.find_root().obj.config_path)
    console.print(str(p) if p else f"(none; would read {default_config_path()})", highlight=False)
