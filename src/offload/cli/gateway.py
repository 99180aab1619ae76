"""``offload serve``: the gateway command (the work is in :mod:`offload.cli.serve`)."""

from __future__ import annotations

import typer

from offload.server.settings import DEFAULT_PORT


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)


def serve_cmd(
    ctx: typer.Context,
    host: str | None = typer.Option(
        None, "--host", help="Address to bind (default 127.0.0.1; others need an API key)."
    ),
    port: int | None = typer.Option(None, "--port", "-p", min=1, max=65535, help=f"Port (default {DEFAULT_PORT})."),
) -> None:
    """Serve the OpenAI, Anthropic and Ollama APIs on one port; print how to point each client at it."""
    from offload.cli.serve import serve

    serve(host, port, ctx.find_root().obj.config_path)
