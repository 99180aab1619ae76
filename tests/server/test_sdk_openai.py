"""The official ``openai`` SDK against a running gateway: plain, streaming, tools, JSON output, errors."""

from __future__ import annotations

import json

import openai
import pytest

from offload.types import ToolCall
from tests.server.conftest import MODEL, Gateway

pytestmark = pytest.mark.sdk

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def client(gw: Gateway, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)


def test_plain_completion(gw: Gateway) -> None:
    raw = client(gw).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]
    )
    out = raw.parse()
    assert out.choices[0].message.content == "Hello from offload"
    assert out.choices[0].finish_reason == "stop" and out.usage and out.usage.completion_tokens > 0
    assert f"model={MODEL}" in raw.headers["x-offload-route"] and "attempts=1" in raw.headers["x-offload-route"]
    assert float(raw.headers["x-offload-overhead-ms"]) >= 0
    seen = gw.local.requests[-1]
    assert seen.system == "be nice" and seen.messages[0].text_content == "hi"
    row = gw.journal_rows()[0]
    assert row.status == "ok" and row.dialect == "openai" and row.client == "openai-python" and row.source == "gateway"


def test_auto_goes_through_the_router(gw: Gateway) -> None:
    out = client(gw).chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    assert out.model == MODEL


def test_streaming_with_usage(gw: Gateway) -> None:
    gw.local.add("The quick brown fox")
    stream = client(gw).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "go"}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "The quick brown fox"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_tools_plain_and_streaming(gw: Gateway) -> None:
    c = client(gw)
    gw.local.add("", tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})])
    out = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER])
    call = out.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert out.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert gw.local.requests[-1].tools[0].name == "get_weather"
    gw.local.add("", tool_calls=[ToolCall(id="call_2", name="get_weather", arguments={"city": "Oslo"})])
    with c.chat.completions.stream(
        model=MODEL, messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER]
    ) as s:
        final = s.get_final_completion()
    tc = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert tc.function.name == "get_weather" and json.loads(tc.function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    # the tool result round trip is accepted
    c.chat.completions.create(
        model=MODEL,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_2", "content": "sunny"},
        ],
    )
    assert gw.local.requests[-1].messages[-1].role == "tool"


def test_json_output(gw: Gateway) -> None:
    gw.local.add('{"answer": 42}')
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    out = client(gw).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "answer?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    assert json.loads(out.choices[0].message.content or "") == {"answer": 42}
    assert gw.local.requests[-1].response_format.json_schema == schema


def test_errors(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway(api_key="s3cret-key-123")
    c = client(gw, key="s3cret-key-123")
    with pytest.raises(openai.NotFoundError) as nf:
        c.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert nf.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="messages"):
        c.chat.completions.create(model=MODEL, messages=[])
    with pytest.raises(openai.AuthenticationError):
        client(gw, key="wrong").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}]).choices


def test_models_and_embeddings(gw: Gateway) -> None:
    c = client(gw)
    assert {m.id for m in c.models.list()} == {"auto", MODEL}
    emb = c.embeddings.create(model=MODEL, input=["a", "bb"])  # the SDK asks for base64 and decodes it
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 8
    with pytest.raises(openai.NotFoundError):
        c.embeddings.create(model="nope", input="x")
