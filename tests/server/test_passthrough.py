"""Faithful pass-through and Claude Code scenario routing, against an in-process fake of Anthropic's API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.server import serve_app
from tests.server.conftest import MODEL, Gateway, base_config

CLOUD_KEY = "sk-ant-test-cloud-key-123456"
BETA = "claude-code-20250219,context-1m-2025-08-07"


@pytest.fixture
def fake() -> Iterator[tuple[FakeAnthropic, str]]:
    f = FakeAnthropic(api_key=CLOUD_KEY)
    with serve_app(f.app) as url:
        yield f, url


@pytest.fixture
def cloud_gw(make_gateway, fake, monkeypatch: pytest.MonkeyPatch) -> Gateway:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", CLOUD_KEY)
    cfg = base_config(
        backends={
            "local": {"kind": "scripted"},
            "cloud": {"kind": "anthropic", "base_url": fake[1], "api_key_env": "TEST_ANTHROPIC_KEY", "max_retries": 0},
        }
    )
    cfg["models"] = [
        *cfg["models"],
        {
            "name": "claude-sonnet-4-5",
            "backend": "cloud",
            "context_window": 200000,
            "roles": ["cloud"],
            "capabilities": ["tools", "vision", "json"],
        },
    ]
    from offload.backends.scripted import ScriptedBackend

    return make_gateway(
        config=cfg, backends={"local": ScriptedBackend("local", default="local answer", models=[MODEL])}
    )


def claude_code_body(**kw: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 64000,
        "stream": True,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197;"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}]}
        ],
        "tools": [{"name": "Bash", "description": "run", "input_schema": {"type": "object", "properties": {}}}],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        "metadata": {"user_id": "u1"},
        **kw,
    }


HEADERS = {
    "anthropic-version": "2023-06-01",
    "anthropic-beta": BETA,
    "authorization": "Bearer dummy",
    "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
    "x-app": "cli",
}


def test_main_loop_is_forwarded_unchanged(cloud_gw: Gateway, fake: tuple[FakeAnthropic, str]) -> None:
    f, _ = fake
    f.reply("cloud answer", usage=(120, 7))
    raw = json.dumps(claude_code_body()).encode()
    r = httpx.post(
        cloud_gw.url + "/v1/messages?beta=true", content=raw, headers={**HEADERS, "content-type": "application/json"}
    )
    assert r.status_code == 200 and r.headers["x-offload-scenario"] == "main_loop"
    assert f.last.body == raw  # byte for byte
    assert f.last.headers["anthropic-beta"] == BETA and f.last.headers["x-api-key"] == CLOUD_KEY
    assert "dummy" not in json.dumps(f.last.headers)
    datas = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    text = "".join(d["delta"]["text"] for d in datas if d.get("delta", {}).get("type") == "text_delta")
    assert text == "cloud answer" and datas[-1]["type"] == "message_stop"
    row = cloud_gw.journal_rows()[0]
    assert row.status == "ok" and row.kind == "passthrough" and row.backend == "cloud" and row.local is False
    assert row.usage and row.usage.input_tokens == 120 and row.usage.output_tokens == 7
    assert cloud_gw.local.requests == []


def test_sdk_through_pass_through(cloud_gw: Gateway, fake: tuple[FakeAnthropic, str]) -> None:
    f, _ = fake
    f.reply_tool_use("Bash", {"command": "ls"}, text="Let me check.")
    c = anthropic.Anthropic(base_url=cloud_gw.url, auth_token="dummy", max_retries=0)
    with c.messages.stream(
        model="claude-opus-4-8",
        max_tokens=1000,
        tools=[{"name": "Bash", "input_schema": {"type": "object"}}],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "list"}],
    ) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use" and [b.type for b in final.content] == ["text", "tool_use"]
    f.reply("plain")
    msg = c.messages.create(
        model="claude-opus-4-8",
        max_tokens=100,
        messages=[{"role": "user", "content": "hi"}],
        tools=[{"name": "Bash", "input_schema": {"type": "object"}}],
    )  # type: ignore[list-item]
    assert msg.content[0].text == "plain"  # type: ignore[union-attr]
    assert cloud_gw.journal_rows()[0].usage.output_tokens > 0  # type: ignore[union-attr]


def test_upstream_errors_come_back_in_anthropics_shape(cloud_gw: Gateway, fake: tuple[FakeAnthropic, str]) -> None:
    f, _ = fake
    f.fail(529, "Overloaded")
    r = httpx.post(cloud_gw.url + "/v1/messages", json=claude_code_body(stream=False), headers=HEADERS)
    assert r.status_code == 529 and r.json()["error"]["type"] == "overloaded_error"
    assert cloud_gw.journal_rows()[0].status == "error"


def test_background_requests_stay_local(cloud_gw: Gateway, fake: tuple[FakeAnthropic, str]) -> None:
    f, _ = fake
    body = claude_code_body(
        tools=[],
        stream=False,
        output_config={
            "format": {
                "type": "json_schema",
                "schema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
            }
        },
    )
    cloud_gw.local.add('{"title": "Say hello"}')
    r = httpx.post(cloud_gw.url + "/v1/messages", json=body, headers=HEADERS)
    assert r.status_code == 200 and r.headers["x-offload-scenario"] == "background"
    assert r.json()["content"][0]["text"] == '{"title": "Say hello"}' and f.requests == []
    seen = cloud_gw.local.requests[-1]
    assert seen.system == "You are Claude Code." and seen.response_format.type == "json_schema"


def test_inventory_cloud_model_is_forwarded_with_its_upstream_name(
    cloud_gw: Gateway, fake: tuple[FakeAnthropic, str]
) -> None:
    f, _ = fake
    f.reply("named")
    r = httpx.post(
        cloud_gw.url + "/v1/messages",
        headers=HEADERS,
        json={"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200 and f.last.json["model"] == "claude-sonnet-4-5"


def test_without_cloud_claude_code_runs_locally_and_slimmed(make_gateway) -> None:  # type: ignore[no-untyped-def]
    cfg = base_config()
    cfg["models"][0] = {**cfg["models"][0], "context_window": 2048, "capabilities": ["json"]}
    gw = make_gateway(config=cfg)
    body = claude_code_body(stream=False)
    body["system"].append({"type": "text", "text": "Long instructions. " * 2000})
    body["tools"] = [
        {"name": f"Tool{i}", "description": "d" * 300, "input_schema": {"type": "object"}} for i in range(24)
    ]
    r = httpx.post(gw.url + "/v1/messages", json=body, headers=HEADERS)
    assert r.status_code == 200, r.text
    assert r.json()["content"][0]["text"] == "Hello from offload"
    assert "dropped 24 tools" in r.headers["x-offload-fitted"]
    seen = gw.local.requests[-1]
    assert seen.tools == [] and seen.max_tokens and seen.max_tokens < 2048
    assert "x-anthropic-billing-header" not in (seen.system or "")
