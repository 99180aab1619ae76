"""The MCP server as Claude Code runs it: a subprocess over stdio, driven by the official ``mcp`` client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from tests.mcp.conftest import ADD_CODE, REVIEW, conforms, error_body, write_config

FIXTURES = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Linus"}]


async def test_every_tool_over_stdio(tmp_path: Path) -> None:
    answers = {"answers": ["Hi! How can I help?", ADD_CODE, REVIEW, json.dumps(FIXTURES)],
               "default": "(no more scripted answers)", "models": ["local-coder"]}  # fmt: skip
    config = write_config(tmp_path, answers=answers)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "offload.mcp.server"],
        env={"OFFLOAD_CONFIG": str(config), "OFFLOAD_HOME": str(tmp_path / "home"), "PYTHONPATH": os.getcwd()},
        cwd=str(tmp_path),
    )
    async with Client(params, read_timeout_seconds=60) as client:
        schemas = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        assert {"list_models", "show_model", "pull_model", "ps", "chat", "run_task", "review_code",
                "generate_fixtures", "savings_report", "explain_route"} <= set(schemas)  # fmt: skip
        called: list[str] = []

        async def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
            """A successful call, its result checked against the tool's output schema."""
            called.append(tool)
            return conforms(await client.call_tool(tool, args), schemas[tool])

        models = (await call("list_models", {}))["models"]
        assert [(m["name"], m["status"]) for m in models] == [("local-coder", "installed")]
        shown = await call("show_model", {"name": "local-coder"})
        assert shown["model"]["vram_gb"] == 5.0 and shown["backend_details"] is None  # scripted: no /api/show
        assert await call("ps", {}) == {"loaded": [], "total_vram_gb": 0}

        chat = await call("chat", {"messages": [{"role": "user", "content": "hello"}]})
        assert chat["answer"] == "Hi! How can I help?"

        task = {"task": "Write add(a, b) in Python.", "tests": "assert add(2, 3) == 5\nassert add(-1, 1) == 0"}
        run = await call("run_task", task)
        assert "def add" in run["answer"] and run["verdict"] == "verified"
        assert run["route"]["model"] == "local-coder" and run["saving"]["counted"] and run["saving"]["avoided_usd"] > 0

        review = await call("review_code", {"code": "def div(a, b):\n    return a / b\n"})
        assert review["review"] == REVIEW

        schema = {"type": "object", "required": ["id", "name"],
                  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}  # fmt: skip
        fixtures = await call("generate_fixtures", {"json_schema": schema, "count": 2})
        assert fixtures["records"] == FIXTURES and fixtures["verdict"] == "verified"

        savings = await call("savings_report", {"period": "today", "by": "kind"})
        assert savings["totals"]["requests"] == 4 and savings["totals"]["avoided_usd"] > 0
        assert {row["key"] for row in savings["by_kind"]} >= {"review", "fixtures"}

        route = await call("explain_route", {"prompt": "Refactor this function", "kind": "refactor"})
        assert route["profile"]["kind"] == "refactor" and route["candidates"][0]["model"] == "local-coder"
        assert set(schemas) - {"pull_model"} == set(called)  # every tool but pull (no Ollama here) conforms

        # bad inputs: an error result (JSON in the text, no structured content), and the server keeps serving
        bad = error_body(await client.call_tool("run_task", {"task": 42, "kind": "poetry"}))
        assert bad["code"] == "invalid_arguments" and {f["field"] for f in bad["fields"]} == {"task", "kind"}
        missing = error_body(await client.call_tool("show_model", {"name": "gpt-17"}))
        assert missing["code"] == "model_not_found"
        pull = error_body(await client.call_tool("pull_model", {"name": "local-coder"}))
        assert "cannot pull" in pull["message"]
        assert (await call("ps", {}))["loaded"] == []
    assert (tmp_path / "journal.db").exists()
