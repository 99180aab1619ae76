"""The worker command modules on a root app like ``offload.cli``'s, for standalone CLI tests and demos.

``python -m tests.workers.cli_app build task.json`` runs a command the way ``offload build`` will once the
modules are wired into ``offload.cli``.
"""

from __future__ import annotations

import sys

import typer

from offload.cli import data_cmd, memory_cmd, provenance_cmd, workers_cmd
from offload.cli.common import State, render_error
from offload.errors import OffloadError

app = typer.Typer(name="offload", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _root(ctx: typer.Context, config: str | None = typer.Option(None, "--config", "-c")) -> None:
    ctx.obj = State(config_path=config)
    ctx.call_on_close(ctx.obj.close)


for _module in (workers_cmd, data_cmd, memory_cmd, provenance_cmd):
    _module.register(app)


def main() -> None:
    try:
        app()
    except OffloadError as exc:
        render_error(exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
