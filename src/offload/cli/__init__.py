"""``offload`` command line: one module per command group, each thin (parse, call the library, render)."""

from __future__ import annotations

import sys

import typer

from offload.cli import (
    bench_cmd,
    config_cmd,
    data_cmd,
    doctor,
    gateway,
    log,
    mcp_cmd,
    memory_cmd,
    modelops,
    models,
    provenance_cmd,
    route,
    run,
    savings,
    workers_cmd,
)
from offload.cli.common import State, render_error
from offload.errors import OffloadError

app = typer.Typer(
    name="offload",
    help="Run cheap, private work on local models; use the cloud only where it is needed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: str | None = typer.Option(
        None, "--config", "-c", help="Path to offload.toml (else $OFFLOAD_CONFIG, else the user config dir)."
    ),
) -> None:
    ctx.obj = State(config_path=config)
    ctx.call_on_close(ctx.obj.close)


for _module in (
    run,
    route,
    gateway,
    models,
    modelops,
    log,
    savings,
    doctor,
    config_cmd,
    workers_cmd,
    data_cmd,
    memory_cmd,
    provenance_cmd,
    mcp_cmd,
    bench_cmd,
):
    _module.register(app)


def main() -> None:
    """Console-script entry point: offload errors become a message, a hint and exit code 1 — never a traceback."""
    try:
        app()
    except OffloadError as exc:
        render_error(exc)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
