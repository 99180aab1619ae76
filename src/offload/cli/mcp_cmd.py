"""``offload mcp``: run offload's MCP server (stdio for Claude Code and other MCP clients, or streamable HTTP)."""

from __future__ import annotations

import typer

from offload.cli.common import state


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def mcp(
    ctx: typer.Context,
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP (endpoint /mcp) instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP only: address to bind (beyond loopback needs a key)."),
    port: int = typer.Option(8788, "--port", min=1, max=65535, help="HTTP only: port to listen on."),
) -> None:
    """Run the MCP server. Add it to Claude Code with: claude mcp add offload -- offload mcp"""
    from offload.mcp.server import run  # imported here: the mcp SDK is slow to import for other commands

    run(state(ctx).config_path, http=http, host=host, port=port)
