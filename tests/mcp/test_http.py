"""The MCP server over streamable HTTP, driven by the official ``mcp`` client: every tool and bad inputs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from offload.backends.scripted import ScriptedBackend
from offload.config import Config
from offload.engine import Engine
from offload.errors import ConfigError
from offload.mcp.server import http_app
from tests.fakes.ollama import FakeOllama
from tests.fakes.server import serve_app
from tests.mcp.conftest import REVIEW, conforms, error_body

TOOLS = {"list_models", "show_model", "pull_model", "ps", "chat", "run_task", "review_code", "generate_fixtures",
         "savings_report", "explain_route"}  # fmt: skip


@pytest.fixture(scope="module")
def url(engine: Engine) -> Iterator[str]:
    with serve_app(http_app(engine)) as base:
        yield f"{base}/mcp"


async def call(url: str, tool: str, args: dict[str, Any] | None = None, **kw: Any) -> CallToolResult:
    """Call a tool in a fresh client session; a successful result is checked against its output schema."""
    async with Client(url) as client:
        schemas = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        result = await client.call_tool(tool, args or {}, **kw)
    if not result.is_error:
        conforms(result, schemas[tool])
    return result


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


err = error_body


async def test_lists_every_tool_with_limits_in_the_schemas(url: str) -> None:
    async with Client(url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    assert tools["run_task"].input_schema["properties"]["task"]["maxLength"] == 200_000
    assert tools["generate_fixtures"].input_schema["properties"]["count"]["maximum"] == 100
    assert tools["list_models"].annotations and tools["list_models"].annotations.read_only_hint
    assert all(t.description for t in tools.values())


async def test_list_show_and_ps(url: str, fake_ollama: tuple[FakeOllama, str]) -> None:
    fake, _ = fake_ollama
    models = {m["name"]: m for m in ok(await call(url, "list_models"))["models"]}
    assert models["local-coder"]["status"] == "installed" and models["local-coder"]["vram_gb"] == 5.0
    assert models["llama3.2"]["status"] == "installed"
    shown = ok(await call(url, "show_model", {"name": "llama3.2"}))
    assert shown["model"]["roles"] == ["reason"] and shown["backend_details"]["context_window"] == 131072
    fake.load("llama3.2", keep_alive="10m")
    try:
        loaded = ok(await call(url, "ps"))["loaded"]
    finally:
        fake.loaded.clear()
    assert [(r["name"], r["backend"]) for r in loaded] == [("llama3.2", "ollama")]
    assert loaded[0]["expires_in"].startswith("in ")


async def test_pull_model_reports_progress(url: str, fake_ollama: tuple[FakeOllama, str]) -> None:
    fake, _ = fake_ollama
    fake.models.pop("qwen2.5-coder:7b", None)
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    data = ok(await call(url, "pull_model", {"name": "coder-7b"}, progress_callback=progress))
    assert data == {"model": "coder-7b", "status": "pulled", "attempts": 1, "listed": True}
    assert seen and seen[-1][2] == "success" and seen[-1][0] == seen[-1][1] == 40_000
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


async def test_chat_answers_openai_style_messages(url: str, scripted: ScriptedBackend) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Say hello"}]},
    ]
    data = ok(await call(url, "chat", {"messages": messages, "max_tokens": 50}))
    assert data["answer"] == "Hello from the local model."
    assert data["route"]["model"] == "local-coder" and data["journal_id"]
    req = scripted.requests[-1]
    assert req.system == "Be brief." and req.max_tokens == 50 and req.messages[0].text_content == "Say hello"


async def test_run_task_is_verified_and_reports_route_and_saving(url: str) -> None:
    args = {"task": "Write add(a, b) in Python that returns the sum.", "tests": "assert add(2, 3) == 5",
            "kind": "code_generation"}  # fmt: skip
    data = ok(await call(url, "run_task", args))
    assert "def add" in data["answer"] and data["verdict"] == "verified"
    assert data["route"]["model"] == "local-coder" and data["route"]["attempts"][0]["verdict"] == "verified"
    assert data["saving"]["local"] is True and data["saving"]["counted"] is True
    assert data["saving"]["avoided_usd"] > 0 and data["saving"]["reference_model"]
    assert data["usage"]["total_tokens"] > 0


async def test_review_code(url: str) -> None:
    data = ok(await call(url, "review_code", {"code": "def div(a, b):\n    return a / b\n", "language": "python"}))
    assert data["review"] == REVIEW and data["route"]["model"] == "local-coder"


async def test_generate_fixtures_returns_records_valid_against_the_schema(url: str) -> None:
    schema = {
        "type": "object",
        "required": ["id", "email"],
        "properties": {"id": {"type": "integer", "minimum": 1}, "email": {"type": "string", "minLength": 3}},
    }
    data = ok(await call(url, "generate_fixtures", {"json_schema": schema, "count": 3}))
    assert data["count"] == 3 and len(data["records"]) == 3
    assert all(r["id"] >= 1 and len(r["email"]) >= 3 for r in data["records"])
    assert data["verdict"] == "verified"


async def test_savings_report_and_explain_route(url: str) -> None:
    ok(await call(url, "chat", {"messages": [{"role": "user", "content": "hello"}]}))
    report = ok(await call(url, "savings_report", {"period": "all", "by": "model"}))
    assert report["totals"]["requests"] >= 1 and report["by_model"][0]["key"] == "local-coder"
    route = ok(await call(url, "explain_route", {"prompt": "Write a Python function that parses dates"}))
    assert route["profile"]["kind"] == "code_generation"
    assert route["candidates"][0]["model"] == "local-coder" and route["candidates"][0]["why"]
    review = ok(await call(url, "explain_route", {"prompt": "look at this", "kind": "review"}))
    assert review["profile"]["kind"] == "review"


@pytest.mark.parametrize(
    ("tool", "args", "code", "field"),
    [
        ("chat", {}, "invalid_arguments", "messages"),  # missing field
        ("chat", {"messages": "hello"}, "invalid_arguments", "messages"),  # wrong type
        ("chat", {"messages": [{"role": "robot", "content": "x"}]}, "invalid_arguments", "messages.0.role"),
        (
            "chat",
            {"messages": [{"role": "user", "content": "x"}], "temperature": 7},
            "invalid_arguments",
            "temperature",
        ),
        ("run_task", {"task": "x" * 200_001}, "invalid_arguments", "task"),  # huge input
        ("run_task", {"task": "do it", "names": 5}, "invalid_arguments", "names"),
        ("generate_fixtures", {"json_schema": {"type": "object"}, "count": "many"}, "invalid_arguments", "count"),
        ("generate_fixtures", {"json_schema": {"type": "object"}, "count": 1000}, "invalid_arguments", "count"),
        ("show_model", {"name": ""}, "invalid_arguments", "name"),
        ("savings_report", {"period": "forever"}, "invalid_arguments", "period"),
        ("ps", {"verbose": True}, "invalid_arguments", "verbose"),  # unknown argument
    ],
)
async def test_bad_inputs_get_structured_errors(url: str, tool: str, args: dict[str, Any], code: str,
                                                field: str) -> None:  # fmt: skip
    e = err(await call(url, tool, args))
    assert e["code"] == code and e["hint"]
    assert field in [f["field"] for f in e["fields"]]
    assert "x" * 1000 not in json.dumps(e)  # never echoes the rejected value


@pytest.mark.parametrize(
    ("tool", "args", "code", "words"),
    [
        ("chat", {"messages": [{"role": "user", "content": "hi"}], "model": "gpt-17"}, "model_not_found", "gpt-17"),
        ("show_model", {"name": "gpt-17"}, "model_not_found", "not in the inventory"),
        ("pull_model", {"name": "gpt-17"}, "model_not_found", "not in the inventory"),
        ("no_such_tool", {}, "unknown_tool", "no_such_tool"),
        ("generate_fixtures", {"json_schema": {"type": "banana"}}, "invalid_request", "not a valid JSON schema"),
        (
            "chat",
            {"messages": [{"role": "system", "content": "only a system prompt"}]},
            "invalid_request",
            "no user or assistant message",
        ),
        ("pull_model", {"name": "local-coder"}, "invalid_request", "cannot pull"),
    ],
)
async def test_unknown_models_and_tools(url: str, tool: str, args: dict[str, Any], code: str, words: str) -> None:
    e = err(await call(url, tool, args))
    assert e["code"] == code and words in e["message"] and e.get("hint")


async def test_pulling_a_model_the_registry_does_not_have(url: str, fake_ollama: tuple[FakeOllama, str]) -> None:
    fake, _ = fake_ollama
    fake.registry.pop("llama3.2:latest", None)
    fake.models.pop("llama3.2:latest", None)
    try:
        e = err(await call(url, "pull_model", {"name": "llama3.2"}))
    finally:
        fake.add_model("llama3.2", size=2_019_393_189, parameter_size="3.2B", context_length=131072)
    assert e["code"] == "model_not_found" and "file does not exist" in e["message"]


async def test_http_requires_the_api_key_when_one_is_set(
    config: Config, scripted: ScriptedBackend, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFLOAD_API_KEY", "s3cret-key-for-tests")
    e = Engine(config, backends={"local": scripted}, journal_path=tmp_path_factory.mktemp("k") / "j.db")
    try:
        with serve_app(http_app(e)) as base:
            with pytest.raises(ExceptionGroup):  # the client cannot even connect
                await call(f"{base}/mcp", "ps")
            async with httpx2.AsyncClient() as h:
                r = await h.post(f"{base}/mcp", json={})
            assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_error"
            authed = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret-key-for-tests"})
            async with authed, Client(streamable_http_client(f"{base}/mcp", http_client=authed)) as client:
                assert ok(await client.call_tool("ps", {})) == {"loaded": [], "total_vram_gb": 0}
    finally:
        await e.aclose()


def test_refuses_to_serve_beyond_loopback_without_a_key(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OFFLOAD_API_KEY", raising=False)
    e = Engine(config, journal_path=tmp_path / "j.db")
    try:
        with pytest.raises(ConfigError) as ei:
            http_app(e, host="0.0.0.0")
        assert "OFFLOAD_API_KEY" in (ei.value.hint or "")
    finally:
        asyncio.run(e.aclose())
