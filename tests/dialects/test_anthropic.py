"""Anthropic Messages <-> canonical: parsing Claude Code's shapes, rendering, the SSE sequence (SDK-checked)."""

from __future__ import annotations

import base64
import json

import pytest
from anthropic.types import Message as SDKMessage
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from offload.dialects import anthropic as an
from offload.dialects.anthropic_stream import AnthropicStreamEncoder
from offload.errors import BackendUnavailable, InvalidRequest, UpstreamHTTPError
from offload.types import ChatResponse, StreamEnd, TextDelta, ToolCall, ToolCallEvent, Usage

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
EVENTS = TypeAdapter(RawMessageStreamEvent)


def req(**kw: object) -> dict:
    return {"model": "claude-sonnet-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **kw}


def claude_code_body() -> dict:
    """The shape Claude Code 2.x sends for its main loop (trimmed)."""
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 64000,
        "stream": True,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli;"},
            {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Main prompt.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "write hello.py"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "plan", "signature": "sig"},
                    {"type": "text", "text": "Writing."},
                    {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {"file_path": "hello.py"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "done"}],
                        "is_error": False,
                    },
                    {"type": "text", "text": "now run it", "cache_control": {"type": "ephemeral"}},
                ],
            },
            {"role": "system", "content": "mid-conversation reminder"},
        ],
        "tools": [
            {"name": "Write", "description": "write a file", "input_schema": {"type": "object", "properties": {}}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        ],
        "metadata": {"user_id": "u"},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
    }


def test_claude_code_main_loop_translates() -> None:
    r = an.parse_messages_request(claude_code_body())
    assert r.system == "You are a Claude agent.\n\nMain prompt."  # billing header stripped
    assert [m.role for m in r.messages] == ["user", "assistant", "tool", "user", "system"]
    assert r.messages[1].text_content == "Writing." and r.messages[1].tool_calls[0].arguments == {
        "file_path": "hello.py"
    }
    assert r.messages[2].tool_call_id == "toolu_1" and r.messages[2].text_content == "done"
    assert r.messages[4].text_content == "mid-conversation reminder"
    assert [t.name for t in r.tools] == ["Write"]
    assert r.metadata["server_tools"] == "web_search_20250305" and r.metadata["thinking"] is True
    assert r.stream and r.max_tokens == 64000


def test_output_config_format_becomes_json_schema() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    r = an.parse_messages_request(req(tools=[], output_config={"format": {"type": "json_schema", "schema": schema}}))
    assert r.response_format.type == "json_schema" and r.response_format.json_schema == schema


def test_images_and_tool_choice() -> None:
    r = an.parse_messages_request(
        req(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                        {"type": "text", "text": "what?"},
                    ],
                }
            ],
            tool_choice={"type": "any"},
            stop_sequences=["\n\nHuman:"],
            top_k=5,
        )
    )
    assert r.messages[0].images[0].data == PNG and r.tool_choice == "required"
    assert r.stop == ["\n\nHuman:"] and r.top_k == 5


@pytest.mark.parametrize(
    "patch, match",
    [
        ({"messages": []}, "at least one message"),
        ({"messages": [{"role": "bot", "content": "x"}]}, "not a valid role"),
        ({"messages": [{"role": "user", "content": ""}]}, "needs content"),
        ({"max_tokens": None}, "required"),
        ({"max_tokens": -1}, "at least 1"),
        ({"max_tokens": 10**9}, "at most"),
        ({"temperature": 1.5}, "between"),
        ({"system": 5}, "string or an array"),
        ({"thinking": {"type": "maybe"}}, "thinking.type"),
        ({"tool_choice": "auto"}, "tool_choice"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": "!!not base64!!"},
                            }
                        ],
                    }
                ]
            },
            "base64",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": PNG}}
                        ],
                    }
                ]
            },
            "media_type",
        ),
        ({"messages": [{"role": "user", "content": [{"type": "hologram"}]}]}, "not a valid content block"),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}]}]},
            "not a valid content block",
        ),
        ({"output_config": {"format": {"type": "regex"}}}, "json_schema"),
    ],
)
def test_bad_requests_are_invalid(patch: dict, match: str) -> None:
    body = req(**patch)
    if patch.get("max_tokens", 0) is None:
        body.pop("max_tokens")
    with pytest.raises(InvalidRequest, match=match):
        an.parse_messages_request(body)


def test_count_tokens_does_not_need_max_tokens() -> None:
    body = req()
    body.pop("max_tokens")
    assert an.parse_messages_request(body, for_count=True).max_tokens is None


def resp(**kw: object) -> ChatResponse:
    base = {"model": "smollm2-135m", "content": "Hi!", "usage": Usage(input_tokens=9, output_tokens=3)}
    return ChatResponse(**(base | kw))  # type: ignore[arg-type]


def test_render_message_validates_with_the_sdk() -> None:
    call = ToolCall(id="toolu_2", name="Bash", arguments={"command": "ls"})
    m = SDKMessage.model_validate(an.render_message(resp(tool_calls=[call], finish_reason="tool_calls")))
    assert m.stop_reason == "tool_use" and m.content[0].type == "text" and m.content[1].type == "tool_use"
    assert m.content[1].input == {"command": "ls"} and m.usage.input_tokens == 9
    assert SDKMessage.model_validate(an.render_message(resp(finish_reason="length"))).stop_reason == "max_tokens"


def _events(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        ev_line, data_line = block.split("\n")
        name, data = ev_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        out.append((name, data))
    return out


def test_stream_sequence_is_exact() -> None:
    enc = AnthropicStreamEncoder("smollm2-135m", input_tokens=9)
    call = ToolCall(id="toolu_3", name="Write", arguments={"file_path": "a.py", "content": "x" * 1500})
    raw = b"".join(
        [
            enc.event(TextDelta(text="Let me ")),
            enc.event(TextDelta(text="write.")),
            enc.event(ToolCallEvent(call=call)),
            enc.event(StreamEnd(response=resp(tool_calls=[call], finish_reason="tool_calls"))),
        ]
    )
    events = _events(raw)
    names = [n for n, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == 2 == names.count("content_block_stop")
    for _, data in events:
        if data["type"] != "ping":
            EVENTS.validate_python(data)
    text = "".join(d["delta"]["text"] for _, d in events if d.get("delta", {}).get("type") == "text_delta")
    assert text == "Let me write."
    tool_start = [d for _, d in events if d["type"] == "content_block_start"][1]
    assert tool_start["index"] == 1 and tool_start["content_block"]["input"] == {}
    pieces = [d["delta"]["partial_json"] for _, d in events if d.get("delta", {}).get("type") == "input_json_delta"]
    assert len(pieces) > 1 and json.loads("".join(pieces)) == call.arguments
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] == 3


def test_empty_stream_still_has_a_text_block() -> None:
    enc = AnthropicStreamEncoder("m")
    names = [n for n, _ in _events(enc.end(resp(content="")))]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_errors_and_overloaded() -> None:
    s, body = an.render_error(BackendUnavailable("all local backends are down"))
    assert s == 529 and body["error"]["type"] == "overloaded_error"
    s, body = an.render_error(UpstreamHTTPError("rate limited", status=429))
    assert s == 429 and body["error"]["type"] == "rate_limit_error"
    name, data = _events(AnthropicStreamEncoder("m").error(BackendUnavailable("gone")))[0]
    assert name == "error" and data["error"]["type"] == "overloaded_error"
