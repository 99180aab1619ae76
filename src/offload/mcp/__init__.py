"""offload's MCP server: tools that let an assistant (Claude Code, any MCP client) delegate work to local models.

- :mod:`offload.mcp.server` — the server (official ``mcp`` SDK), stdio and streamable HTTP, structured errors.
- :mod:`offload.mcp.tools` — the tool implementations over :class:`~offload.engine.Engine`.
- :mod:`offload.mcp.inputs` — typed, size-limited tool inputs.
- :mod:`offload.mcp.outputs` — typed tool results: the source of every tool's ``outputSchema``.

Nothing is imported here, so ``import offload.mcp`` stays cheap; use ``from offload.mcp.server import run``.
"""
