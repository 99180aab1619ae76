"""The official ``anthropic`` SDK against a running gateway: plain, streaming, tools, JSON output, errors."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from offload.errors import BackendUnavailable
from offload.types import ToolCall
from tests.server.conftest import MODEL, Gateway

pytestmark = pytest.mark.sdk

BASH = {
    "name": "Bash",
    "description": "run a command",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}


def client(gw: Gateway, key: str = "dummy") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, auth_token=key, max_retries=0)


def test_plain_message(gw: Gateway) -> None:
    msg = client(gw).messages.create(
        model=MODEL, max_tokens=100, system="be brief", messages=[{"role": "user", "content": "hi"}]
    )
    assert msg.content[0].type == "text" and msg.content[0].text == "Hello from offload"
    assert msg.stop_reason == "end_turn" and msg.usage.output_tokens > 0
    assert gw.local.requests[-1].system == "be brief"
    assert gw.journal_rows()[0].dialect == "anthropic"


def test_streaming_message(gw: Gateway) -> None:
    gw.local.add("Streaming works fine")
    with client(gw).messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Streaming works fine" and final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def test_tool_use_round_trip(gw: Gateway) -> None:
    c = client(gw)
    gw.local.add("Let me look.", tool_calls=[ToolCall(id="toolu_1", name="Bash", arguments={"command": "ls -la"})])
    with c.messages.stream(
        model=MODEL,
        max_tokens=100,
        tools=[BASH],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "list files"}],
    ) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use"
    use = [b for b in final.content if b.type == "tool_use"][0]
    assert use.name == "Bash" and use.input == {"command": "ls -la"}  # type: ignore[union-attr]
    msg = c.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[BASH],
        messages=[  # type: ignore[list-item]
            {"role": "user", "content": "list files"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls -la"}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.py", "is_error": False}],
            },
        ],
    )
    assert msg.content[0].type == "text"
    seen = gw.local.requests[-1].messages
    assert seen[1].tool_calls[0].id == "toolu_1" and seen[2].role == "tool" and seen[2].text_content == "a.py"


def test_json_output_via_output_config(gw: Gateway) -> None:
    gw.local.add('{"title": "Fix the login bug"}')
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    msg = client(gw).messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[{"role": "user", "content": "title?"}],
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}},
    )
    assert json.loads(msg.content[0].text) == {"title": "Fix the login bug"}  # type: ignore[union-attr]
    assert gw.local.requests[-1].response_format.json_schema == schema


def test_count_tokens(gw: Gateway) -> None:
    n = client(gw).messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hello " * 100}])
    assert n.input_tokens > 100


def test_errors(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway(api_key="k-123456")
    c = client(gw, "k-123456")
    with pytest.raises(anthropic.NotFoundError) as nf:
        c.messages.create(model="gpt-unknown", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert nf.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError):
        c.messages.create(model=MODEL, max_tokens=-1, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.AuthenticationError):
        client(gw, "nope").messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    gw.local.add_error(BackendUnavailable("scripted outage", backend="local"))
    with pytest.raises(anthropic.APIStatusError) as over:
        c.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert over.value.status_code == 529 and over.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_head_root_is_answered(gw: Gateway) -> None:
    r = httpx.head(gw.url + "/")
    assert r.status_code == 200
