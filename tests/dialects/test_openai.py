"""OpenAI Chat Completions <-> canonical: parsing, rendering, streaming chunks (checked with the SDK's types)."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from offload.dialects import openai as oa
from offload.dialects.openai_stream import OpenAIStreamEncoder
from offload.errors import BackendUnavailable, InvalidRequest, UnsupportedContent
from offload.types import ChatResponse, EmbedResult, StreamEnd, TextDelta, ToolCall, ToolCallEvent, Usage

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def req(**kw: object) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **kw}


def test_full_request_translates() -> None:
    body = {
        "model": "auto",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "use JSON"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "look", "arguments": '{"x": 1}'}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "a cat"},
            {"role": "system", "content": "mid-conversation note"},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "look"}},
        "temperature": 0.2,
        "max_completion_tokens": 50,
        "stop": "END",
        "seed": 7,
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
        "stream": True,
        "stream_options": {"include_usage": True},
        "presence_penalty": 0.5,
        "api_base": "http://evil.example",
        "base_url": "http://evil.example",
    }
    r = oa.parse_chat_request(body)
    assert r.system == "be brief\n\nuse JSON"
    assert [m.role for m in r.messages] == ["user", "assistant", "tool", "system", "user"]
    assert r.messages[0].images[0].data == PNG
    assert r.messages[1].tool_calls[0].arguments == {"x": 1}
    assert r.messages[2].tool_call_id == "c1"
    assert r.tools[0].name == "look" and r.tool_choice == "look"
    assert (r.temperature, r.max_tokens, r.stop, r.seed) == (0.2, 50, ["END"], 7)
    assert r.response_format.type == "json_schema" and r.response_format.json_schema == {"type": "object"}
    assert r.stream and r.metadata["include_usage"] is True
    assert r.options == {"presence_penalty": 0.5}
    assert "evil" not in json.dumps(r.model_dump())  # client-supplied upstream URLs are never kept


@pytest.mark.parametrize(
    "patch, match",
    [
        ({"messages": []}, "at least one message"),
        ({"messages": "hi"}, "expected an array"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "not a valid role"),
        ({"messages": [{"role": "function", "content": "x"}]}, "not a valid role"),
        ({"messages": [{"role": "system", "content": "x"}]}, "user message is required"),
        ({"messages": [{"role": "user", "content": 5}]}, "expected a string or an array"),
        ({"model": ""}, "must not be empty"),
        ({"model": 3}, "expected a string"),
        ({"max_tokens": -1}, "at least 1"),
        ({"max_tokens": 10**9}, "at most"),
        ({"max_tokens": "10"}, "integer"),
        ({"temperature": 9}, "between"),
        ({"n": 2}, "n=1"),
        ({"stop": [1]}, "strings"),
        ({"response_format": {"type": "yaml"}}, "not supported"),
        ({"tools": [{"type": "code_interpreter"}]}, "function"),
        ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tool names"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@not-base64@@@"}}
                        ],
                    }
                ]
            },
            "base64",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}
                ]
            },
            "data: URL",
        ),
        ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "unknown content part"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
    ],
)
def test_bad_requests_are_invalid(patch: dict, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match) as info:
        oa.parse_chat_request(req(**patch))
    assert 400 <= info.value.http_status < 500


def test_audio_is_unsupported_content() -> None:
    with pytest.raises(UnsupportedContent):
        oa.parse_chat_request(req(messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]))


def test_broken_tool_arguments_in_history_are_kept_verbatim() -> None:
    r = oa.parse_chat_request(
        req(
            messages=[
                {"role": "user", "content": "go"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
                },
                {"role": "tool", "tool_call_id": "a", "content": "ok"},
                {"role": "user", "content": "next"},
            ]
        )
    )
    assert r.messages[1].tool_calls[0].arguments == {"_raw": "{oops"}


def resp(**kw: object) -> ChatResponse:
    base = {
        "model": "smollm2-135m",
        "backend": "embedded",
        "content": "Hello",
        "usage": Usage(input_tokens=3, output_tokens=2),
    }
    return ChatResponse(**(base | kw))  # type: ignore[arg-type]


def test_render_validates_against_the_sdk_types() -> None:
    out = ChatCompletion.model_validate(oa.render_chat_response(resp()))
    assert out.choices[0].message.content == "Hello" and out.usage and out.usage.total_tokens == 5
    call = ToolCall(id="call_1", name="get", arguments={"city": "Paris"})
    out = ChatCompletion.model_validate(
        oa.render_chat_response(resp(content="", tool_calls=[call], finish_reason="tool_calls"))
    )
    tc = out.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert out.choices[0].finish_reason == "tool_calls" and out.choices[0].message.content is None
    assert json.loads(tc.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]


def _chunks(raw: bytes) -> list[dict]:
    events = [e for e in raw.decode().split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    return [json.loads(e.removeprefix("data: ")) for e in events[:-1]]


def test_stream_sequence_with_tools_and_usage() -> None:
    enc = OpenAIStreamEncoder("m", include_usage=True)
    call = ToolCall(id="call_9", name="f", arguments={"a": 1})
    raw = b"".join(
        [
            enc.event(TextDelta(text="He")),
            enc.event(TextDelta(text="llo")),
            enc.event(ToolCallEvent(call=call)),
            enc.event(StreamEnd(response=resp(tool_calls=[call], finish_reason="tool_calls"))),
        ]
    )
    chunks = [ChatCompletionChunk.model_validate(c) for c in _chunks(raw)]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    tc = [c for c in chunks if c.choices and c.choices[0].delta.tool_calls][0].choices[0].delta.tool_calls[0]  # type: ignore[index]
    assert (tc.index, tc.id, tc.function.name) == (0, "call_9", "f")  # type: ignore[union-attr]
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.prompt_tokens == 3
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_usage_has_no_usage_chunk() -> None:
    enc = OpenAIStreamEncoder("m")
    chunks = _chunks(enc.event(TextDelta(text="x")) + enc.event(StreamEnd(response=resp())))
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_error_event() -> None:
    enc = OpenAIStreamEncoder("m")
    raw = enc.error(BackendUnavailable("backend 'x' went away"))
    body = json.loads(raw.decode().removeprefix("data: "))
    assert body["error"]["type"] == "server_error" and "went away" in body["error"]["message"]


def test_embeddings_float_and_base64() -> None:
    res = EmbedResult(model="e", embeddings=[[0.5, -1.0]], usage=Usage(input_tokens=2))
    assert oa.parse_embeddings_request({"model": "e", "input": "hi"}) == ("e", ["hi"], "float")
    out = CreateEmbeddingResponse.model_validate(oa.render_embeddings(res))
    assert out.data[0].embedding == [0.5, -1.0]
    b64 = oa.render_embeddings(res, "base64")["data"][0]["embedding"]
    assert list(struct.unpack("<2f", base64.b64decode(b64))) == [0.5, -1.0]
    for bad in (
        {"model": "e"},
        {"model": "e", "input": []},
        {"model": "e", "input": [1, 2]},
        {"model": "e", "input": "x", "encoding_format": "hex"},
    ):
        with pytest.raises(InvalidRequest):
            oa.parse_embeddings_request(bad)
