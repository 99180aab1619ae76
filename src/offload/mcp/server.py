"""``offload mcp``: an MCP server (official ``mcp`` SDK) whose tools delegate work to offload's router.

Runs over stdio (the default: ``claude mcp add offload -- offload mcp``) or streamable HTTP
(``offload mcp --http``, endpoint ``/mcp``). Every tool declares an ``outputSchema`` (derived by the SDK
from its result model in :mod:`offload.mcp.outputs`); a successful call returns ``structuredContent`` that
conforms to it, plus the same JSON as a text block (MCP 2025-06-18, "Structured Content").

Every tool validates its arguments; bad input — missing fields, wrong types, oversized values, unknown
arguments, unknown tools or models — and every failure come back as a tool result with ``isError: true``
whose text block is a JSON body::

    {"error": {"code": "invalid_arguments", "message": "...", "hint": "...", "fields": [{"field", "problem"}]}}

Error results carry no ``structuredContent``: the body does not conform to the tool's output schema, and
clients that validate ``structuredContent`` even on errors (the TypeScript SDK before its fix, older MCP
Inspectors) would replace it with a schema-mismatch error, so the model would never see the hint.

Run it directly with ``python -m offload.mcp.server [--http] [--host H] [--port P] [--config FILE]``.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import ValidationError

from offload.config import load_config
from offload.engine import Engine
from offload.errors import OffloadError
from offload.mcp.inputs import MAX_ARGUMENTS_BYTES, ModelName
from offload.mcp.outputs import PullModelResult
from offload.mcp.tools import OffloadTools
from offload.redact import default_redactor
from offload.server.security import check_bind

log = logging.getLogger("offload.mcp")
INSTRUCTIONS = (
    "offload runs work on the user's local models (and the cloud only when needed), verifies the answers "
    "and meters the savings. Delegate self-contained tasks with run_task (code with tests, refactors, docs), "
    "review_code for a first-pass review, generate_fixtures for schema-valid test data, chat for quick "
    "questions. explain_route shows where a prompt would go; savings_report what it saved."
)
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WORK = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


def error_result(code: str, message: str, hint: str | None = None, **extra: Any) -> CallToolResult:
    """A tool error (``isError: true``): ``{"error": {code, message, hint...}}`` as JSON text, redacted.

    No ``structuredContent``: the spec asks only successful results to conform to the output schema, and a
    client that validates errors too must still receive the error (see the module docstring).
    """
    body: dict[str, Any] = {"code": code, "message": default_redactor().text(message)}
    if hint:
        body["hint"] = default_redactor().text(hint)
    body.update(extra)
    text = json.dumps({"error": body}, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Field paths and problems (never the rejected values: they are the caller's data)."""
    out = []
    for err in exc.errors()[:20]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith(("function-", "list[", "str")))
        out.append({"field": loc or "(arguments)", "problem": str(err.get("msg", "invalid value"))})
    return out


class OffloadMCP(MCPServer[Any]):
    """MCPServer whose failures (bad arguments, :mod:`offload.errors`, crashes) are structured error results."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        size = len(json.dumps(arguments, default=str))
        if size > MAX_ARGUMENTS_BYTES:
            return error_result("input_too_large", f"the arguments are {size} bytes; the limit is {MAX_ARGUMENTS_BYTES}",
                                "send less text, or split the work into several calls")  # fmt: skip
        tool = next((t for t in await self.list_tools() if t.name == name), None)
        if tool is None:
            names = sorted(t.name for t in await self.list_tools())
            return error_result("unknown_tool", f"no tool named {name!r}", f"use one of: {', '.join(names)}")
        known = set((tool.input_schema or {}).get("properties", {}))
        unknown = sorted(set(arguments) - known)
        if unknown:
            return error_result("invalid_arguments", f"unknown argument {unknown[0]!r}", f"{name} takes: "
                                f"{', '.join(sorted(known)) or 'no arguments'}",
                                fields=[{"field": u, "problem": "unknown argument"} for u in unknown])  # fmt: skip
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:  # the SDK wraps whatever the tool raised; __cause__ is the original
            return _failure(name, exc)


def _failure(name: str, exc: ToolError) -> CallToolResult:
    """The error result for a failed call: bad arguments, an :class:`OffloadError`, or a crash (logged)."""
    cause = exc.__cause__
    if isinstance(cause, OffloadError):
        return error_result(cause.code, cause.message, cause.hint)
    if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):  # the arguments
        fields = _field_errors(cause)
        first = fields[0]
        return error_result("invalid_arguments", f"{first['field']}: {first['problem']}",
                            f"see the input schema of {name} (tools/list)", fields=fields)  # fmt: skip
    if isinstance(exc, UnexpectedToolError):  # a bug, or a result that does not match the output schema
        log.error("MCP tool %s failed", name, exc_info=cause or exc)
        return error_result("internal_error", f"{name} failed unexpectedly", "see the server's log")
    return error_result("tool_error", str(exc), f"see the description of {name} (tools/list)")


def build_server(engine: Engine, tools: OffloadTools | None = None) -> OffloadMCP:
    """The MCP server with every offload tool, answering through ``engine``."""
    t = tools or OffloadTools(engine)
    server = OffloadMCP("offload", title="offload", instructions=INSTRUCTIONS, log_level="WARNING",
                        version=_version())  # fmt: skip
    for fn, ann in (
        (t.list_models, _READ_ONLY), (t.show_model, _READ_ONLY), (t.ps, _READ_ONLY),
        (t.chat, _WORK), (t.run_task, _WORK), (t.review_code, _WORK), (t.generate_fixtures, _WORK),
        (t.savings_report, _READ_ONLY), (t.explain_route, _READ_ONLY),
    ):  # fmt: skip
        # The SDK derives the outputSchema from the return annotation (a model of offload.mcp.outputs) and
        # sends the returned model as structuredContent plus the same JSON as a text block.
        server.add_tool(fn, name=fn.__name__, annotations=ann, structured_output=True)

    async def pull_model(name: ModelName, ctx: Context[Any, Any]) -> PullModelResult:
        """Download an inventory model on its backend (Ollama) with progress, resuming after interruptions."""
        return await t.pull_model(name, progress=ctx.report_progress)

    server.add_tool(
        pull_model,
        name="pull_model",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
        structured_output=True,
    )
    return server


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("offload")
    except Exception:
        return "0"


def build_engine(config_path: str | None = None) -> Engine:
    """An engine over the configuration found by ``--config`` → ``$OFFLOAD_CONFIG`` → the user config dir."""
    return Engine(load_config(config_path))


async def serve_stdio(engine: Engine) -> None:
    """Serve over stdin/stdout until the client closes them."""
    try:
        await build_server(engine).run_stdio_async()
    finally:
        await engine.aclose()


def http_app(engine: Engine, *, host: str = "127.0.0.1") -> Any:
    """The streamable-HTTP ASGI app (endpoint ``/mcp``); bearer auth when ``[server] api_key_env`` is set."""
    check_bind(host, engine.config.server)  # beyond loopback only with an API key, like the gateway
    key = engine.config.server.api_key()
    app = build_server(engine).streamable_http_app(host=host, max_request_body_size=MAX_ARGUMENTS_BYTES + 65536)
    return _BearerAuth(app, key) if key else app


class _BearerAuth:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer <key>``."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self._key = app, key.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            auth = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(auth, b"Bearer " + self._key):
                body = json.dumps({"error": {"code": "authentication_error", "message": "missing or wrong API key",
                                             "hint": "send Authorization: Bearer <key>"}}).encode()  # fmt: skip
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


async def serve_http(engine: Engine, host: str, port: int) -> None:
    """Serve streamable HTTP on ``host:port`` until interrupted."""
    import uvicorn

    try:
        app = http_app(engine, host=host)
        print(f"offload MCP server on http://{host}:{port}/mcp", file=sys.stderr)
        await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).serve()
    finally:
        await engine.aclose()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m offload.mcp.server``: stdio by default, ``--http`` for streamable HTTP."""
    ap = argparse.ArgumentParser(prog="offload mcp", description="offload's MCP server")
    ap.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8788)
    ap.add_argument("--config", "-c", default=None)
    args = ap.parse_args(argv)
    run(args.config, http=args.http, host=args.host, port=args.port)


def run(config_path: str | None = None, *, http: bool = False, host: str = "127.0.0.1", port: int = 8788) -> None:
    """Build the engine and serve (blocking). Configuration errors print a message and a hint, exit 1."""
    try:
        engine = build_engine(config_path)
        if http:
            anyio.run(serve_http, engine, host, port)
        else:
            anyio.run(serve_stdio, engine)
    except OffloadError as exc:
        print(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
