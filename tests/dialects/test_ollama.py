"""Ollama API <-> canonical: chat/generate parsing, NDJSON streaming, model listings (SDK-checked)."""

from __future__ import annotations

import base64
import json

import pytest
from ollama import ChatResponse as SDKChat
from ollama import GenerateResponse as SDKGenerate
from ollama import ListResponse, ProcessResponse, ShowResponse

from offload.dialects import ollama as ol
from offload.dialects.ollama_stream import OllamaStreamEncoder
from offload.errors import BackendTimeout, InvalidRequest
from offload.types import ChatResponse, ModelInfo, StreamEnd, TextDelta, Timings, ToolCall, ToolCallEvent, Usage

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def test_chat_request_translates() -> None:
    r = ol.parse_chat_request(
        {
            "model": "qwen",
            "stream": False,
            "format": "json",
            "keep_alive": "10m",
            "think": True,
            "options": {"temperature": 0.1, "num_predict": 64, "num_ctx": 4096, "stop": ["\n"], "seed": 3},
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "look", "images": [PNG]},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}],
                },
                {"role": "tool", "content": "42", "tool_name": "f"},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        }
    )
    assert r is not None and r.system == "sys"
    assert [m.role for m in r.messages] == ["user", "assistant", "tool"]
    assert r.messages[0].images[0].data == PNG and r.messages[1].tool_calls[0].arguments == {"a": 1}
    assert (r.temperature, r.max_tokens, r.stop, r.seed, r.stream) == (0.1, 64, ["\n"], 3, False)
    assert r.options == {"num_ctx": 4096, "keep_alive": "10m"} and r.response_format.type == "json"
    assert r.metadata["thinking"] is True


def test_streaming_is_the_default_and_empty_messages_mean_load() -> None:
    assert ol.parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "x"}]}).stream is True  # type: ignore[union-attr]
    assert ol.parse_chat_request({"model": "m", "messages": []}) is None
    assert ol.parse_chat_request({"model": "m"}) is None
    assert ol.parse_generate_request({"model": "m"}) is None
    load = ol.render_load("m", chat=True)
    assert SDKChat.model_validate(load).done_reason == "load"


def test_num_predict_follows_ollama() -> None:
    base = {"model": "m", "prompt": "x"}
    assert ol.parse_generate_request(base | {"options": {"num_predict": -1}}).max_tokens is None  # type: ignore[union-attr]
    assert ol.parse_generate_request(base | {"options": {"num_predict": -2}}).max_tokens is None  # type: ignore[union-attr]
    for bad in (-3, 0, 10**9, "many"):
        with pytest.raises(InvalidRequest, match="num_predict"):
            ol.parse_generate_request(base | {"options": {"num_predict": bad}})


@pytest.mark.parametrize(
    "body, match",
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": "hi"}, "expected an array"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "not a valid role"),
        ({"model": "m", "messages": [{"role": "user", "content": ["x"]}]}, "expected a string"),
        ({"model": "m", "messages": [{"role": "user", "content": "x", "images": ["%%%"]}]}, "base64"),
        ({"model": "m", "messages": [{"role": "system", "content": "only a system prompt"}]}, "user message"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "format": 5}, "format"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "options": []}, "options"),
    ],
)
def test_bad_chat_requests(body: dict, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match):
        ol.parse_chat_request(body)


def resp(**kw: object) -> ChatResponse:
    base = {
        "model": "m",
        "content": "Hello",
        "usage": Usage(input_tokens=4, output_tokens=2),
        "timings": Timings(ttft_s=0.1, total_s=0.3),
    }
    return ChatResponse(**(base | kw))  # type: ignore[arg-type]


def test_render_chat_and_generate_validate_with_the_sdk() -> None:
    c = SDKChat.model_validate(ol.render_chat(resp(tool_calls=[ToolCall(id="t", name="f", arguments={"a": 1})])))
    assert c.message.content == "Hello" and c.message.tool_calls[0].function.arguments == {"a": 1}  # type: ignore[index]
    assert c.prompt_eval_count == 4 and c.eval_count == 2 and c.total_duration == 300_000_000
    g = SDKGenerate.model_validate(ol.render_generate(resp(finish_reason="length")))
    assert g.response == "Hello" and g.done_reason == "length"


def test_ndjson_stream() -> None:
    enc = OllamaStreamEncoder("m", chat=True)
    call = ToolCall(id="t", name="f", arguments={})
    raw = b"".join(
        [
            enc.event(TextDelta(text="He")),
            enc.event(TextDelta(text="llo")),
            enc.event(ToolCallEvent(call=call)),
            enc.event(StreamEnd(response=resp())),
        ]
    )
    lines = [SDKChat.model_validate(json.loads(line)) for line in raw.decode().splitlines()]
    assert "".join(x.message.content or "" for x in lines) == "Hello"
    assert [x.done for x in lines] == [False, False, False, True] and lines[2].message.tool_calls
    gen = OllamaStreamEncoder("m", chat=False)
    raw = gen.event(TextDelta(text="x")) + gen.event(StreamEnd(response=resp()))
    assert [json.loads(line)["response"] for line in raw.decode().splitlines()] == ["x", ""]
    assert json.loads(gen.error(BackendTimeout("too slow")))["error"].startswith("too slow")


def test_listings_validate_with_the_sdk() -> None:
    info = ModelInfo(
        name="m",
        backend="ollama",
        size_bytes=10,
        vram_bytes=5,
        context_window=4096,
        expires_at="2030-01-01T00:00:00Z",
        quantization="Q4_0",
        family="llama",
    )
    ListResponse.model_validate({"models": [ol.model_entry("m", info)]})
    ps = ProcessResponse.model_validate({"models": [ol.ps_entry(info)]})
    assert ps.models[0].size_vram == 5 and ps.models[0].context_length == 4096
    show = ShowResponse.model_validate(
        ol.render_show(
            "m", context_window=8192, capabilities=["completion", "tools"], family="llama", quantization="Q4_0"
        )
    )
    assert show.capabilities == ["completion", "tools"] and show.modelinfo["llama.context_length"] == 8192  # type: ignore[index]
    assert ol.parse_embed_request({"model": "e", "input": ["a", "b"]}) == ("e", ["a", "b"])
    with pytest.raises(InvalidRequest):
        ol.parse_embed_request({"model": "e", "input": []})
