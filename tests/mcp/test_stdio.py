"""The MCP server as Claude Code runs it: a subprocess over stdio, driven by the official ``mcp`` client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult

from tests.mcp.conftest import ADD_CODE, REVIEW, write_config

FIXTURES = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Linus"}]


def data(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict)
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    return result.structured_content


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
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"list_models", "show_model", "pull_model", "ps", "chat", "run_task", "review_code",
                "generate_fixtures", "savings_report", "explain_route"} <= tools  # fmt: skip

        models = data(await client.call_tool("list_models", {}))["models"]
        assert [(m["name"], m["status"]) for m in models] == [("local-coder", "installed")]
        assert data(await client.call_tool("show_model", {"name": "local-coder"}))["model"]["vram_gb"] == 5.0
        assert data(await client.call_tool("ps", {})) == {"loaded": [], "total_vram_gb": 0}

        chat = data(await client.call_tool("chat", {"messages": [{"role": "user", "content": "hello"}]}))
        assert chat["answer"] == "Hi! How can I help?"

        task = {"task": "Write add(a, b) in Python.", "tests": "assert add(2, 3) == 5\nassert add(-1, 1) == 0"}
        run = data(await client.call_tool("run_task", task))
        assert "def add" in run["answer"] and run["verdict"] == "verified"
        assert run["route"]["model"] == "local-coder" and run["saving"]["counted"] and run["saving"]["avoided_usd"] > 0

        review = data(await client.call_tool("review_code", {"code": "def div(a, b):\n    return a / b\n"}))
        assert review["review"] == REVIEW

        schema = {"type": "object", "required": ["id", "name"],
                  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}  # fmt: skip
        fixtures = data(await client.call_tool("generate_fixtures", {"json_schema": schema, "count": 2}))
        assert fixtures["records"] == FIXTURES and fixtures["verdict"] == "verified"

        savings = data(await client.call_tool("savings_report", {"period": "today"}))
        assert savings["totals"]["requests"] == 4 and savings["totals"]["avoided_usd"] > 0

        route = data(await client.call_tool("explain_route", {"prompt": "Refactor this function", "kind": "refactor"}))
        assert route["profile"]["kind"] == "refactor" and route["candidates"][0]["model"] == "local-coder"

        # bad inputs: a structured error, and the server keeps serving
        bad = await client.call_tool("run_task", {"task": 42, "kind": "poetry"})
        assert bad.is_error and data(bad)["error"]["code"] == "invalid_arguments"
        assert {f["field"] for f in data(bad)["error"]["fields"]} == {"task", "kind"}
        missing = await client.call_tool("show_model", {"name": "gpt-17"})
        assert missing.is_error and data(missing)["error"]["code"] == "model_not_found"
        pull = await client.call_tool("pull_model", {"name": "local-coder"})
        assert pull.is_error and "cannot pull" in data(pull)["error"]["message"]
        assert data(await client.call_tool("ps", {}))["loaded"] == []
    assert (tmp_path / "journal.db").exists()
