"""``POST /v1/responses`` on a running gateway: the official ``openai`` SDK's ``client.responses`` (plain,
streaming, tools), Codex-shaped requests (namespaces, hosted tools, fitting), stream failures, and the
WebSocket refusal."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import httpx
import openai
import pytest
import yaml
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from offload.cli.serve import codex_config, llm_config, startup_lines
from offload.server.app import create_app
from offload.types import ToolCall
from tests.fakes.server import serve_app
from tests.server.conftest import MODEL, Gateway, base_config
from tests.server.test_streaming import BreaksMidStream

pytestmark = pytest.mark.sdk

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
CODEX_HEADERS = {"user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64)", "originator": "codex_exec"}


def client(gw: Gateway, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)


def test_plain_response(gw: Gateway) -> None:
    raw = client(gw).responses.with_raw_response.create(model=MODEL, input="hi", instructions="be nice", store=False)
    out = raw.parse()
    assert out.output_text == "Hello from offload" and out.status == "completed" and out.model == MODEL
    assert out.usage is not None and out.usage.output_tokens > 0 and out.usage.total_tokens > out.usage.output_tokens
    assert out.id.startswith("resp_") and out.instructions == "be nice"
    assert f"model={MODEL}" in raw.headers["x-offload-route"]
    seen = gw.local.requests[-1]
    assert seen.system == "be nice" and seen.messages[0].text_content == "hi" and not seen.stream
    row = gw.journal_rows()[0]
    assert (row.status, row.dialect, row.client) == ("ok", "responses", "openai-python")


def test_auto_and_message_items(gw: Gateway) -> None:
    out = client(gw).responses.create(
        model="auto",
        input=[
            {"role": "developer", "content": "answer briefly"},
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "again"},
        ],
    )
    assert out.model == MODEL and out.output_text == "Hello from offload"
    seen = gw.local.requests[-1]
    assert seen.system == "answer briefly" and [m.role for m in seen.messages] == ["user", "assistant", "user"]


def test_streaming_event_sequence(gw: Gateway) -> None:
    gw.local.add("The quick brown fox")
    events = list(client(gw).responses.create(model=MODEL, input="go", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert set(kinds[4:-4]) == {"response.output_text.delta"}
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "The quick brown fox"
    done = events[-1]
    assert done.type == "response.completed" and done.response.output_text == "The quick brown fox"
    assert done.response.usage is not None and done.response.usage.output_tokens > 0
    assert gw.local.requests[-1].stream


def test_tools_round_trip_with_the_stream_helper(gw: Gateway) -> None:
    c = client(gw)
    gw.local.add("", tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})])
    with c.responses.stream(model=MODEL, input="weather in Paris?", tools=[WEATHER]) as s:
        deltas = [e.delta for e in s if e.type == "response.function_call_arguments.delta"]
        final = s.get_final_response()
    call = final.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id == "call_1"
    assert json.loads(call.arguments) == {"city": "Paris"} and json.loads("".join(deltas)) == {"city": "Paris"}
    assert gw.local.requests[-1].tools[0].name == "get_weather"
    gw.local.add("It is sunny in Paris.")
    out = c.responses.create(
        model=MODEL,
        tools=[WEATHER],
        input=[
            {"role": "user", "content": "weather in Paris?"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": call.arguments},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny, 21 C"},
        ],
    )
    assert out.output_text == "It is sunny in Paris."
    seen = gw.local.requests[-1].messages
    assert [m.role for m in seen] == ["user", "assistant", "tool"]
    assert seen[1].tool_calls[0].arguments == {"city": "Paris"} and seen[2].text_content == "sunny, 21 C"
    assert (seen[2].tool_call_id, seen[2].name) == ("call_1", "get_weather")


def test_plain_tool_call_response(gw: Gateway) -> None:
    gw.local.add("Let me check.", tool_calls=[ToolCall(id="call_9", name="get_weather", arguments={"city": "Oslo"})])
    out = client(gw).responses.create(model=MODEL, input="weather?", tools=[WEATHER], tool_choice="required")
    assert [o.type for o in out.output] == ["message", "function_call"]
    assert out.output_text == "Let me check." and gw.local.requests[-1].tool_choice == "required"


def test_codex_tools_namespaces_restored_hosted_tools_dropped(gw: Gateway) -> None:
    tools = [
        WEATHER,
        {
            "type": "namespace",
            "name": "multi_agent_v1",
            "description": "Tools for sub-agents.",
            "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}, "strict": False}],
        },
        {"type": "web_search", "external_web_access": False},
    ]
    gw.local.add("", tool_calls=[ToolCall(id="call_2", name="multi_agent_v1__spawn_agent", arguments={"task": "x"})])
    body = {"model": MODEL, "input": "delegate", "tools": tools, "stream": True, "store": False}
    body |= {"include": ["reasoning.encrypted_content"], "reasoning": {"summary": "auto"}, "parallel_tool_calls": True}
    with httpx.stream("POST", gw.url + "/v1/responses", json=body, headers=CODEX_HEADERS, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    done = [e["item"] for e in lines if e["type"] == "response.output_item.done"]
    assert done == [{**done[0], "type": "function_call", "name": "spawn_agent", "namespace": "multi_agent_v1"}]
    assert lines[-1]["type"] == "response.completed"
    seen = gw.local.requests[-1]
    assert [t.name for t in seen.tools] == ["get_weather", "multi_agent_v1__spawn_agent"]
    assert gw.journal_rows()[0].client == "codex"


def test_codex_requests_are_fitted_to_a_small_local_model(make_gateway) -> None:  # type: ignore[no-untyped-def]
    cfg = base_config()
    cfg["models"][0] |= {"context_window": 1024, "capabilities": ["json"]}
    gw: Gateway = make_gateway(config=cfg)
    body = {
        "model": "auto",
        "input": [
            {"role": "developer", "content": "You are Codex. " + "Follow the rules. " * 2000},
            {"role": "user", "content": "say hi"},
        ],
        "tools": [WEATHER],
    }
    r = httpx.post(gw.url + "/v1/responses", json=body, headers=CODEX_HEADERS, timeout=30)
    assert r.status_code == 200, r.text
    assert (
        "dropped 1 tools" in r.headers["x-offload-fitted"]
        and "shortened the system prompt" in r.headers["x-offload-fitted"]
    )
    seen = gw.local.requests[-1]
    assert seen.model == MODEL and not seen.tools and len(seen.system or "") < 4000
    assert seen.messages[-1].text_content == "say hi"
    # any other client gets exactly what it sent (here: too much for the model)
    r = httpx.post(gw.url + "/v1/responses", json=body, timeout=30)
    assert r.status_code == 400 and "x-offload-fitted" not in r.headers
    assert r.json()["error"]["code"] == "context_length_exceeded"
    # a last user turn that cannot fit even then: a clear 400 that says what to change
    body["input"] = [{"role": "user", "content": "hi " * 5000}]
    r = httpx.post(gw.url + "/v1/responses", json=body, headers=CODEX_HEADERS, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"
    assert "Codex's config.toml" in r.json()["error"]["message"]


def test_error_before_the_stream_is_a_plain_error(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw: Gateway = make_gateway(api_key="s3cret-key-123")
    c = client(gw, key="s3cret-key-123")
    with pytest.raises(openai.NotFoundError) as nf:
        c.responses.create(model="no-such-model", input="hi", stream=True)
    assert nf.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="input"):
        c.responses.create(model=MODEL, input=[])
    with pytest.raises(openai.AuthenticationError):
        client(gw, key="wrong").responses.create(model=MODEL, input="hi")
    gw.local.healthy = False
    with pytest.raises(openai.InternalServerError):
        c.responses.create(model=MODEL, input="hi", stream=True)


def test_failure_mid_stream_is_error_then_response_failed(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw: Gateway = make_gateway(backends={"local": BreaksMidStream("local", models=[MODEL])})
    events = list(client(gw).responses.create(model=MODEL, input="go", stream=True))
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    failed = events[-1].response  # type: ignore[union-attr]
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "server_error"
    assert "dropped" in failed.error.message and failed.id == events[0].response.id  # type: ignore[union-attr]
    assert gw.journal_rows()[0].status == "error"


def test_websocket_upgrade_is_refused_at_once(gw: Gateway) -> None:
    ws_url = gw.url.replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as info:
        connect(ws_url + "/v1/responses", open_timeout=10)
    res = info.value.response
    assert res.status_code == 426
    err: dict[str, Any] = json.loads(res.body or b"{}")["error"]
    assert err["code"] == "websocket_not_supported" and "POST /v1/responses" in err["message"]
    with pytest.raises(InvalidStatus) as other:
        connect(ws_url + "/elsewhere", open_timeout=10)
    assert other.value.response.status_code == 404
    r = httpx.get(gw.url + "/v1/responses")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["error"]["code"] == "method_not_allowed"


def test_upgrade_without_websocket_support_gets_426(gw: Gateway) -> None:
    """A server without a WebSocket library sees the upgrade as a plain GET: still 426 at once."""
    with serve_app(create_app(gw.engine), ws="none") as url:
        r = httpx.get(url + "/v1/responses", headers={"upgrade": "websocket", "connection": "Upgrade"})
    assert r.status_code == 426 and r.json()["error"]["code"] == "websocket_not_supported"


def test_serve_prints_codex_llm_and_aider_settings() -> None:
    lines = startup_lines("127.0.0.1", 8787, api_key_env="OFFLOAD_API_KEY", key_set=False)
    text = "\n".join(lines)
    assert 'aider --model openai/auto --openai-api-base "http://127.0.0.1:8787/v1"' in text
    codex = tomllib.loads(codex_config("http://127.0.0.1:8787/v1"))
    assert codex["model_provider"] == "offload" and codex["model"] == "auto"
    assert codex["model_providers"]["offload"] == {
        "name": "offload",
        "base_url": "http://127.0.0.1:8787/v1",
        "env_key": "OPENAI_API_KEY",
        "wire_api": "responses",
    }
    (entry,) = yaml.safe_load(llm_config("http://127.0.0.1:8787/v1"))
    assert entry == {**entry, "model_id": "offload", "api_base": "http://127.0.0.1:8787/v1", "supports_tools": True}
    assert "api_key_name" not in entry
    keyed = "\n".join(startup_lines("0.0.0.0", 9000, api_key_env="OFFLOAD_API_KEY", key_set=True))
    assert '--openai-api-key "$OFFLOAD_API_KEY"' in keyed and "llm keys set offload" in keyed
    assert "api_key_name: offload" in keyed
