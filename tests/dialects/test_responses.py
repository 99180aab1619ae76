"""OpenAI Responses API <-> canonical: parsing, the response object and the event stream (checked with the SDK's
own types)."""

from __future__ import annotations

import base64
import json
from typing import Any, get_args

import pytest
from openai.types.responses import Response, ResponseStreamEvent

from offload.dialects import responses as rs
from offload.dialects.responses_stream import ResponsesStreamEncoder, render_response
from offload.errors import BackendUnavailable, ContextOverflow, InvalidRequest, UnsupportedContent, UpstreamHTTPError
from offload.types import ChatResponse, StreamEnd, TextDelta, ToolCall, ToolCallEvent, Usage

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
EVENT_TYPES = {
    cls.model_fields["type"].annotation.__args__[0]: cls for cls in get_args(get_args(ResponseStreamEvent)[0])
}
NAMESPACE = {
    "type": "namespace",
    "name": "agents",
    "description": "sub-agents",
    "tools": [{"type": "function", "name": "spawn", "parameters": {"type": "object"}}],
}


def body(**kw: Any) -> dict[str, Any]:
    return {"model": "m", "input": "hi", **kw}


def parse(**kw: Any) -> rs.ResponsesRequest:
    return rs.parse_responses_request(body(**kw))


def test_codex_shaped_request_translates() -> None:
    p = parse(
        instructions="be brief",
        input=[
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sandbox rules"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "running ls"}]},
            {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": '{"cmd": "ls"}'},
            {"type": "function_call", "call_id": "c2", "name": "spawn", "namespace": "agents", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "a.txt"},
            {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "ok"}]},
            {"role": "developer", "content": "mid-conversation note"},
            {"role": "user", "content": [{"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}]},
        ],
        tools=[
            {"type": "function", "name": "exec_command", "strict": False, "parameters": {"type": "object"}},
            NAMESPACE,
            {"type": "web_search", "external_web_access": False},
            {"type": "custom", "name": "apply_patch", "description": "patch files", "format": {"type": "grammar"}},
        ],
        tool_choice="auto",
        parallel_tool_calls=True,
        reasoning={"effort": "low", "summary": "auto"},
        store=False,
        include=["reasoning.encrypted_content"],
        prompt_cache_key="k",
        client_metadata={"x": "y"},
        stream=True,
    )
    r = p.chat
    assert r.system == "be brief\n\nsandbox rules"
    assert [m.role for m in r.messages] == ["user", "assistant", "tool", "tool", "system", "user"]
    assert r.messages[1].text_content == "running ls"
    assert [c.name for c in r.messages[1].tool_calls] == ["exec_command", "agents__spawn"]
    assert r.messages[1].tool_calls[0].arguments == {"cmd": "ls"}
    assert (r.messages[2].tool_call_id, r.messages[2].name, r.messages[2].text_content) == (
        "c1",
        "exec_command",
        "a.txt",
    )
    assert r.messages[3].text_content == "ok" and r.messages[5].images[0].data == PNG
    assert [t.name for t in r.tools] == ["exec_command", "agents__spawn", "apply_patch"]
    assert "sub-agents" in r.tools[1].description
    assert p.namespaces == {"agents__spawn": ("agents", "spawn")} and p.custom_tools == {"apply_patch"}
    assert p.dropped_tools == ("web_search",)
    assert r.stream and r.tool_choice == "auto" and r.options == {"parallel_tool_calls": True}
    assert p.echo["reasoning"] == {"effort": "low", "summary": "auto"}


def test_sampling_and_text_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    p = parse(
        temperature=0.3,
        top_p=0.9,
        max_output_tokens=64,
        text={"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}},
    )
    assert (p.chat.temperature, p.chat.top_p, p.chat.max_tokens, p.max_output_tokens) == (0.3, 0.9, 64, 64)
    assert p.chat.response_format.type == "json_schema" and p.chat.response_format.json_schema == schema
    assert parse(text={"format": {"type": "json_object"}}).chat.response_format.type == "json"


@pytest.mark.parametrize(
    "choice, expected",
    [
        ({"type": "function", "name": "f"}, "f"),
        ({"type": "allowed_tools", "mode": "required", "tools": []}, "required"),
        ({"type": "web_search_preview"}, "auto"),
        ("none", "none"),
    ],
)
def test_tool_choice(choice: Any, expected: str) -> None:
    p = parse(tools=[{"type": "function", "name": "f"}], tool_choice=choice)
    assert p.chat.tool_choice == expected


def test_only_hosted_tools_means_no_tools_and_no_forced_choice() -> None:
    p = parse(tools=[{"type": "web_search"}, {"type": "file_search", "vector_store_ids": []}], tool_choice="required")
    assert p.chat.tools == [] and p.chat.tool_choice is None and p.dropped_tools == ("web_search", "file_search")


@pytest.mark.parametrize(
    "patch, match",
    [
        ({"input": ""}, "must not be empty"),
        ({"input": []}, "at least one item"),
        ({"input": None}, "required"),
        ({"input": 7}, "expected a string or an array"),
        ({"input": [5]}, "expected an object"),
        ({"input": [{"type": "telepathy", "content": "x"}]}, "unknown input item type"),
        ({"input": [{"content": "x"}]}, "type"),
        ({"input": [{"type": "message", "role": "wizard", "content": "x"}]}, "not a valid role"),
        ({"input": [{"type": "message", "role": "user"}]}, "content: this field is required"),
        ({"input": [{"role": "user", "content": ""}]}, "needs content"),
        ({"input": [{"role": "user", "content": [{"type": "input_video"}]}]}, "unknown content part"),
        ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "text: this field is required"),
        ({"input": [{"role": "developer", "content": "only instructions"}]}, "user message is required"),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "call_id"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "bad name!"}]}, "tool names"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": 3}]}, "JSON string"),
        ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "output: this field is required"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "item_reference"),
        (
            {"input": [{"role": "assistant", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]},
            "images",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "file:///etc/passwd"}]}]},
            "data:",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64,@@"}]}
                ]
            },
            "base64",
        ),
        ({"model": ""}, "must not be empty"),
        ({"previous_response_id": "resp_1"}, "stored response"),
        ({"conversation": "conv_1"}, "stored response"),
        ({"background": True}, "background"),
        ({"max_output_tokens": 0}, "at least 1"),
        ({"temperature": 3}, "between"),
        ({"tools": [{"name": "f"}]}, "tool type"),
        ({"tools": [{"type": "function", "name": "f", "parameters": "x"}]}, "JSON schema"),
        ({"tools": [{"type": "namespace", "name": "ns", "tools": "x"}]}, "array"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"text": {"format": {"type": "yaml"}}}, "not supported"),
        ({"include": [1]}, "strings"),
        ({"stream": "yes"}, "true or false"),
    ],
)
def test_bad_requests_are_invalid(patch: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequest, match=match) as info:
        rs.parse_responses_request(body(**patch))
    assert 400 <= info.value.http_status < 500


@pytest.mark.parametrize("part", [{"type": "input_file", "file_id": "f"}, {"type": "input_image", "file_id": "f"}])
def test_files_are_unsupported_content(part: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedContent):
        parse(input=[{"role": "user", "content": [part]}])


def test_history_of_hosted_tools_and_custom_calls() -> None:
    p = parse(
        input=[
            {"role": "user", "content": "go"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
            {"type": "custom_tool_call", "call_id": "p1", "name": "apply_patch", "input": "*** Begin Patch"},
            {"type": "custom_tool_call_output", "call_id": "p1", "output": "done"},
            {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{oops"},
        ]
    )
    assert [m.role for m in p.chat.messages] == ["user", "assistant", "tool", "assistant"]
    assert p.chat.messages[1].tool_calls[0].arguments == {"input": "*** Begin Patch"}
    assert p.chat.messages[3].tool_calls[0].arguments == {"_raw": "{oops"}


def response(content: str = "hi", calls: list[ToolCall] | None = None, finish: str = "stop") -> ChatResponse:
    return ChatResponse(
        model="m",
        content=content,
        tool_calls=calls or [],
        finish_reason=finish,
        usage=Usage(input_tokens=5, output_tokens=2),
    )  # type: ignore[arg-type]


def test_render_response_validates_as_the_sdk_type() -> None:
    p = parse(tools=[NAMESPACE, {"type": "web_search"}])
    calls = [ToolCall(id="c1", name="agents__spawn", arguments={"task": "x"})]
    out = Response.model_validate(render_response(p, response("thinking", calls, "tool_calls")))
    assert out.status == "completed" and out.output_text == "thinking"
    call = out.output[1]
    assert call.type == "function_call" and (call.name, call.namespace, call.call_id) == ("spawn", "agents", "c1")
    assert json.loads(call.arguments) == {"task": "x"}
    assert out.usage is not None and (out.usage.input_tokens, out.usage.output_tokens, out.usage.total_tokens) == (
        5,
        2,
        7,
    )
    assert out.usage.input_tokens_details.cached_tokens == 0 and out.usage.output_tokens_details.reasoning_tokens == 0


def test_length_stop_is_incomplete_only_against_the_callers_limit() -> None:
    assert render_response(parse(max_output_tokens=5), response(finish="length"))["status"] == "incomplete"
    assert render_response(parse(), response(finish="length"))["status"] == "completed"


def events(raw: bytes, *, strict: bool = True) -> list[dict[str, Any]]:
    """Parse SSE bytes, checking each ``event:`` line names its data's type and the data is a valid SDK event."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        head, data = block.split("\n")
        ev = json.loads(data.removeprefix("data: "))
        assert head == f"event: {ev['type']}"
        if strict or ev["type"] != "response.failed":
            EVENT_TYPES[ev["type"]].model_validate(ev)
        out.append(ev)
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    return out


def test_stream_sequence_text_then_calls() -> None:
    p = parse(tools=[{"type": "function", "name": "f"}, {"type": "custom", "name": "apply_patch"}])
    enc = ResponsesStreamEncoder(p, "m")
    calls = [
        ToolCall(id="c1", name="f", arguments={"a": 1}),
        ToolCall(id="c2", name="apply_patch", arguments={"input": "P"}),
    ]
    raw = enc.event(TextDelta(text="Hel")) + enc.event(TextDelta(text="lo"))
    raw += b"".join(enc.event(ToolCallEvent(call=c)) for c in calls)
    raw += enc.event(StreamEnd(response=response("Hello", calls, "tool_calls")))
    evs = events(raw)
    assert [e["type"] for e in evs] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert evs[8]["item"]["content"][0]["text"] == "Hello" and evs[11]["arguments"] == '{"a": 1}'
    assert evs[16]["item"] == {**evs[16]["item"], "type": "custom_tool_call", "input": "P", "call_id": "c2"}
    final = Response.model_validate(evs[-1]["response"])
    assert final.id == evs[0]["response"]["id"] and [o.type for o in final.output] == [
        "message",
        "function_call",
        "custom_tool_call",
    ]
    assert final.usage is not None and final.usage.total_tokens == 7


def test_empty_answer_is_one_empty_message() -> None:
    enc = ResponsesStreamEncoder(parse(), "m")
    evs = events(enc.event(StreamEnd(response=response(""))))
    assert evs[-2]["type"] == "response.output_item.done" and evs[-2]["item"]["content"][0]["text"] == ""
    assert evs[-1]["type"] == "response.completed"


def test_incomplete_stream_ends_with_response_incomplete() -> None:
    enc = ResponsesStreamEncoder(parse(max_output_tokens=3), "m")
    evs = events(enc.event(TextDelta(text="abc")) + enc.event(StreamEnd(response=response("abc", finish="length"))))
    assert evs[-1]["type"] == "response.incomplete"
    assert evs[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


@pytest.mark.parametrize(
    "exc, code",
    [
        (BackendUnavailable("down", backend="b"), "server_error"),
        (UpstreamHTTPError("slow down", status=429), "rate_limit_exceeded"),
        (ContextOverflow("too long"), "context_length_exceeded"),
    ],
)
def test_error_after_start_is_error_then_response_failed(exc: Exception, code: str) -> None:
    enc = ResponsesStreamEncoder(parse(), "m")
    # Codex stops on context_length_exceeded (the API sends it), a code the SDK's error Literal does not list
    raw = enc.event(TextDelta(text="partial")) + enc.error(exc)  # type: ignore[arg-type]
    evs = events(raw, strict=code != "context_length_exceeded")
    assert [e["type"] for e in evs[-2:]] == ["error", "response.failed"]
    failed = evs[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == code and failed["id"] == evs[0]["response"]["id"]


def test_calls_only_in_the_final_response_are_still_sent() -> None:
    enc = ResponsesStreamEncoder(parse(tools=[{"type": "function", "name": "f"}]), "m")
    call = ToolCall(id="c1", name="f", arguments={})
    evs = events(enc.event(StreamEnd(response=response("", [call], "tool_calls"))))
    assert [e["type"] for e in evs][2:] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [o["type"] for o in evs[-1]["response"]["output"]] == ["function_call"]
