"""AnthropicBackend against the in-process Anthropic fake (real loopback HTTP, no internet)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import pytest

from offload.backends import create_backend
from offload.backends.anthropic import AnthropicBackend
from offload.config import BackendConfig
from offload.errors import BackendUnavailable, InvalidRequest, MalformedResponse, UpstreamHTTPError
from offload.types import (
    ChatRequest,
    ImagePart,
    Message,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
)
from tests.fakes.anthropic_server import FakeAnthropic, input_tokens
from tests.fakes.server import free_port, serve_app

ENV = "OFFLOAD_TEST_ANTHROPIC_KEY"
KEY = "sk-ant-test-0123456789abcdef"
MODELS = ["claude-a", "claude-b", "claude-c", "claude-d", "claude-e"]
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeAnthropic, str]]:
    fake = FakeAnthropic(api_key=KEY, models=MODELS, page_size=2)
    with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakeAnthropic, str]) -> FakeAnthropic:
    served[0].reset()
    served[0].api_key = KEY
    return served[0]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def make(
    served: tuple[FakeAnthropic, str], sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., AnthropicBackend]]:
    monkeypatch.setenv(ENV, KEY)
    made: list[AnthropicBackend] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def _make(base_url: str | None = None, **cfg: Any) -> AnthropicBackend:
        config = BackendConfig(name="claude", kind="anthropic", base_url=base_url or served[1], api_key_env=ENV, **cfg)
        backend = AnthropicBackend(config, sleep=fake_sleep)
        made.append(backend)
        return backend

    yield _make
    for b in made:
        await b.aclose()


def req(text: str = "hi", **kw: Any) -> ChatRequest:
    return ChatRequest.from_prompt(text, model="claude-a", **kw)


async def collect(backend: AnthropicBackend, request: ChatRequest) -> list[StreamEvent]:
    return [ev async for ev in backend.stream(request)]


# -- chat and stream ----------------------------------------------------------------------------------------
async def test_chat_sends_documented_headers_and_body(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    fake.reply("Hello!", usage=(12, 3))
    backend = make()
    out = await backend.chat(req("hi", system="be brief", stop=["END"], temperature=0.1, top_k=5))
    assert (out.content, out.finish_reason, out.model, out.backend) == ("Hello!", "stop", "claude-a", "claude")
    assert (out.usage.input_tokens, out.usage.output_tokens) == (12, 3)
    assert out.id.startswith("msg_") and out.timings.tokens_per_s is not None
    h = fake.last.headers
    assert h["x-api-key"] == KEY and h["anthropic-version"] == "2023-06-01" and "authorization" not in h
    body = fake.last.json
    assert body == {
        "model": "claude-a",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "system": "be brief",
        "max_tokens": 1024,
        "stop_sequences": ["END"],
        "temperature": 0.1,
        "top_k": 5,
    }
    assert backend.capabilities.count_tokens and backend.capabilities.cloud and not backend.capabilities.embed


async def test_max_tokens_from_request(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    await make().chat(req(max_tokens=77))
    assert fake.last.json["max_tokens"] == 77


@pytest.mark.parametrize(
    ("wire", "canonical"),
    [("end_turn", "stop"), ("max_tokens", "length"), ("stop_sequence", "stop"), ("tool_use", "tool_calls")],
)
async def test_stop_reason_mapping(fake: FakeAnthropic, make: Callable[..., Any], wire: str, canonical: str) -> None:
    fake.reply("x", stop_reason=wire)
    assert (await make().chat(req())).finish_reason == canonical
    fake.reply("x", stop_reason=wire)
    end = (await collect(make(), req()))[-1]
    assert isinstance(end, StreamEnd) and end.response.finish_reason == canonical


async def test_stream_text_ignores_ping_and_thinking(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    fake.reply("The answer is 42.", thinking="secret chain of thought", chunk_size=4, usage=(30, 9))
    events = await collect(make(), req())
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "The answer is 42." and "secret" not in text
    assert sum(isinstance(e, StreamEnd) for e in events) == 1 and isinstance(events[-1], StreamEnd)
    end = events[-1].response
    assert (end.content, end.finish_reason) == ("The answer is 42.", "stop")
    assert (end.usage.input_tokens, end.usage.output_tokens) == (30, 9)
    assert end.id.startswith("msg_") and end.timings.ttft_s is not None
    assert fake.last.json["stream"] is True


async def test_chat_ignores_thinking_blocks(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    fake.reply("visible", thinking="hidden")
    assert (await make().chat(req())).content == "visible"


async def test_stream_tool_use_json_fragments_become_one_call(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    args = {"city": "San Francisco, CA", "unit": "fahrenheit", "days": [1, 2]}
    fake.reply_tool_use("get_weather", args, text="Okay, let's check.", args_chunk=4)
    events = await collect(make(), req("weather?", tools=[WEATHER]))
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1 and (calls[0].name, calls[0].arguments) == ("get_weather", args)
    assert calls[0].id.startswith("toolu_")
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response.finish_reason == "tool_calls"
    assert end.response.tool_calls == calls and end.response.content == "Okay, let's check."


async def test_tool_round_trip_merges_turns_and_places_results_first(
    fake: FakeAnthropic, make: Callable[..., Any]
) -> None:
    fake.reply_tool_use("get_weather", {"city": "Oslo"})
    backend = make()
    first = await backend.chat(req("weather in Oslo and Rome?", tools=[WEATHER], tool_choice="required"))
    assert fake.last.json["tools"] == [
        {"name": "get_weather", "description": "Weather for a city", "input_schema": WEATHER.parameters}
    ]
    assert fake.last.json["tool_choice"] == {"type": "any"}
    call = first.tool_calls[0]
    assert (call.name, call.arguments, first.finish_reason) == ("get_weather", {"city": "Oslo"}, "tool_calls")

    second = ToolCall(id="toolu_second", name="get_weather", arguments={"city": "Rome"})
    fake.reply("Sunny in Oslo; Rome unknown.")
    follow = ChatRequest(
        model="claude-a",
        system="top system",
        tools=[WEATHER],
        messages=[
            Message.text("system", "lifted system"),
            Message.text("user", "weather in Oslo"),
            Message.text("user", "and Rome?"),
            Message(role="assistant", content=[TextPart(text="Checking.")], tool_calls=[call, second]),
            Message(role="tool", tool_call_id=call.id, content=[TextPart(text="sunny")]),
            Message(role="tool", tool_call_id=second.id, content=[TextPart(text="service down")], is_error=True),
            Message.text("user", "thanks"),
        ],
    )
    out = await backend.chat(follow)  # the fake rejects bad alternation / unanswered tool_use ids with 400
    assert out.content == "Sunny in Oslo; Rome unknown."
    body = fake.last.json
    assert body["system"] == "top system\n\nlifted system"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "weather in Oslo"},
        {"type": "text", "text": "and Rome?"},
    ]
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_second", "name": "get_weather", "input": {"city": "Rome"}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": call.id, "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "toolu_second", "content": "service down", "is_error": True},
        {"type": "text", "text": "thanks"},
    ]


async def test_images_become_base64_source_blocks(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    msg = Message(
        role="user",
        content=[
            ImagePart(media_type="image/jpeg", data="QUJD"),
            ImagePart(url="data:image/webp;base64,REVG"),
            ImagePart(url="https://example.invalid/cat.png"),
            TextPart(text="describe"),
        ],
    )
    await make().chat(ChatRequest(model="claude-a", messages=[msg]))
    assert fake.last.json["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "QUJD"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "REVG"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.invalid/cat.png"}},
        {"type": "text", "text": "describe"},
    ]


async def test_json_formats_are_asked_for_in_the_system_prompt(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fake.reply('{"n": 1}')
    out = await make().chat(req(system="base", response_format=ResponseFormat(type="json_schema", json_schema=schema)))
    assert json.loads(out.content) == {"n": 1}
    system = fake.last.json["system"]
    assert system.startswith("base\n\n") and "JSON" in system and json.dumps(schema) in system
    await make().chat(req(response_format=ResponseFormat(type="json")))
    assert "single JSON object" in fake.last.json["system"]


async def test_count_tokens(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    r = req("count these words please", system="sys", tools=[WEATHER], max_tokens=10, stop=["x"])
    n = await make().count_tokens(r)
    sent = fake.last.json
    assert fake.last.path == "/v1/messages/count_tokens" and n == input_tokens(sent) and n > 0
    assert "max_tokens" not in sent and "stop_sequences" not in sent and "stream" not in sent
    assert sent["system"] == "sys" and sent["tools"][0]["name"] == "get_weather"


async def test_list_models_follows_pagination_and_health(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    backend = make()
    models = await backend.list_models()
    assert [m.name for m in models] == MODELS and models[0].details["display_name"] == "Claude A"
    assert [r.query.get("after_id") for r in fake.requests] == [None, "claude-b", "claude-d"]
    assert (await backend.health()).ok


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_base_url_with_or_without_v1(
    served: tuple[FakeAnthropic, str], fake: FakeAnthropic, make: Callable[..., Any], suffix: str
) -> None:
    backend = make(served[1] + suffix)
    assert (await backend.chat(req())).content == "ok"
    assert fake.last.path == "/v1/messages"
    await backend.count_tokens(req())
    assert fake.last.path == "/v1/messages/count_tokens"


async def test_embed_is_refused_and_factory_builds_it(make: Callable[..., Any]) -> None:
    with pytest.raises(InvalidRequest) as info:
        await make().embed("claude-a", ["x"])
    assert "embed" in (info.value.hint or "")
    config = BackendConfig(name="cloud", kind="anthropic", base_url="https://api.anthropic.com")
    backend = create_backend(config)
    assert isinstance(backend, AnthropicBackend)
    await backend.aclose()


# -- errors -------------------------------------------------------------------------------------------------
async def test_401_hint_names_the_env_var(fake: FakeAnthropic, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.api_key = "sk-ant-another-key-entirely"
    with pytest.raises(UpstreamHTTPError) as info:
        await make().chat(req())
    assert info.value.status == 401 and "authentication_error" in info.value.message
    assert ENV in (info.value.hint or "") and len(fake.requests) == 1 and sleeps == []


async def test_404_unknown_model(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    with pytest.raises(UpstreamHTTPError) as info:
        await make().chat(ChatRequest.from_prompt("hi", model="claude-nope"))
    assert info.value.status == 404 and "not_found_error" in info.value.message
    assert "claude-nope" in (info.value.hint or "") and len(fake.requests) == 1


async def test_500_and_529_are_retried(fake: FakeAnthropic, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.fail(500, "Internal server error").fail(529, "Overloaded").reply("made it")
    assert (await make(max_retries=2).chat(req())).content == "made it"
    assert len(fake.requests) == 3 and len(sleeps) == 2


async def test_400_is_never_retried(fake: FakeAnthropic, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.fail(400, "messages: text content blocks must be non-empty")
    with pytest.raises(UpstreamHTTPError) as info:
        await make(max_retries=5).chat(req())
    assert info.value.status == 400 and "invalid_request_error" in info.value.message
    assert len(fake.requests) == 1 and sleeps == []


async def test_429_retry_after_honoured_and_capped(
    fake: FakeAnthropic, make: Callable[..., Any], sleeps: list[float]
) -> None:
    fake.fail(429, "rate limited", retry_after="4").reply("ok")
    assert (await make().chat(req())).content == "ok"
    assert sleeps == [4.0]
    sleeps.clear()
    fake.fail(429, "rate limited", retry_after="100").reply("ok")
    events = await collect(make(retry_max_wait_s=2.5), req())
    assert isinstance(events[-1], StreamEnd) and sleeps == [2.5]


async def test_connection_refused_is_backend_unavailable(make: Callable[..., Any], sleeps: list[float]) -> None:
    backend = make(f"http://127.0.0.1:{free_port()}", max_retries=0)
    for call in (backend.chat(req()), collect(backend, req()), backend.count_tokens(req())):
        with pytest.raises(BackendUnavailable):
            await call
    health = await backend.health()
    assert not health.ok and health.hint


async def test_stream_without_message_stop_is_truncated(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    fake.reply("cut short here", chunk_size=2, drop_after=5, drop="eof")
    with pytest.raises(MalformedResponse) as info:
        await collect(make(), req())
    assert "message_stop" in info.value.message and "truncated" in info.value.message


async def test_connection_dropped_mid_stream(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    fake.reply("cut short here", chunk_size=2, drop_after=5, drop="abort")
    with pytest.raises(BackendUnavailable) as info:
        await collect(make(), req())
    assert "mid-stream" in info.value.message


async def test_error_event_mid_stream(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    fake.reply("partial", stream_error={"type": "overloaded_error", "message": "Overloaded"}, error_after=4)
    seen: list[StreamEvent] = []
    with pytest.raises(UpstreamHTTPError) as info:
        async for ev in make().stream(req()):
            seen.append(ev)
    assert info.value.status == 529 and info.value.retryable and "overloaded_error" in info.value.message
    assert seen and not any(isinstance(e, StreamEnd) for e in seen)


async def test_server_sees_disconnect_when_consumer_stops(fake: FakeAnthropic, make: Callable[..., Any]) -> None:
    fake.reply("y" * 200, chunk_size=1, chunk_delay=0.05)
    gen = make().stream(req())
    assert isinstance(await gen.__anext__(), TextDelta)
    await gen.aclose()
    assert await asyncio.to_thread(fake.disconnected.wait, 10)


# -- pass-through and redaction -----------------------------------------------------------------------------
async def test_forward_passes_body_and_beta_headers_and_replaces_auth(
    fake: FakeAnthropic, make: Callable[..., Any]
) -> None:
    raw = b'{"model":"claude-a","max_tokens":5,"stream":true,  "messages":[{"role":"user","content":"hi"}]}'
    caller = {
        "x-api-key": "client-gateway-key",
        "authorization": "Bearer client-token",
        "host": "evil.example",
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
        "x-base-url": "http://evil.example",
    }
    resp = await make().forward("/v1/messages?beta=true", raw, caller)
    try:
        body = b"".join([c async for c in resp.aiter_raw()])
    finally:
        await resp.aclose()
    assert fake.last.body == raw and fake.last.path == "/v1/messages" and fake.last.query == {"beta": "true"}
    h = fake.last.headers
    assert h["x-api-key"] == KEY and "authorization" not in h
    assert h["anthropic-beta"] == caller["anthropic-beta"] and h["anthropic-version"] == "2023-06-01"
    assert h["host"].startswith("127.0.0.1") and "x-base-url" not in h
    assert body.startswith(b"event: message_start\n") and b"event: message_stop\n" in body


async def test_forward_with_v1_base_and_caller_version(
    served: tuple[FakeAnthropic, str], fake: FakeAnthropic, make: Callable[..., Any]
) -> None:
    raw = b'{"model":"claude-a","messages":[{"role":"user","content":"hi"}]}'
    resp = await make(served[1] + "/v1").forward(
        "/v1/messages/count_tokens", raw, {"anthropic-version": "2099-01-01", "content-type": "application/json"}
    )
    try:
        assert json.loads(await resp.aread()) == {"input_tokens": input_tokens(json.loads(raw))}
    finally:
        await resp.aclose()
    assert fake.last.path == "/v1/messages/count_tokens" and fake.last.headers["anthropic-version"] == "2099-01-01"


async def test_redaction_canary(fake: FakeAnthropic, make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"sk-CANARY-{secrets.token_hex(12)}"
    monkeypatch.setenv(ENV, canary)
    backend = make()
    texts: list[str] = []
    fake.api_key = "sk-ant-right-key"
    for call in (backend.chat(req()), collect(backend, req()), backend.count_tokens(req())):
        with pytest.raises(UpstreamHTTPError) as info:
            await call
        texts += [str(info.value), repr(info.value), info.value.body, info.value.hint or ""]
    fake.api_key = canary
    fake.reply("x", stream_error={"type": "api_error", "message": f"key {canary} misbehaved"}, error_after=2)
    with pytest.raises(UpstreamHTTPError) as info:
        await collect(backend, req())
    texts += [str(info.value), info.value.body, json.dumps(info.value.to_dict())]
    assert fake.last.headers["x-api-key"] == canary  # it was really sent upstream
    assert any("misbehaved" in t for t in texts)
    assert not any(canary in t for t in texts)


# -- the fake speaks the real format: drive it with the official SDK -----------------------------------------
def test_fake_speaks_anthropic_wire_format_to_the_sdk(fake: FakeAnthropic, served: tuple[FakeAnthropic, str]) -> None:
    client = anthropic.Anthropic(base_url=served[1], api_key=KEY, max_retries=0)
    fake.reply("Hi from the fake", usage=(3, 4))
    plain = client.messages.create(model="claude-a", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert plain.content[0].type == "text" and plain.content[0].text == "Hi from the fake"
    assert (plain.stop_reason, plain.usage.input_tokens, plain.usage.output_tokens) == ("end_turn", 3, 4)

    fake.reply_tool_use("get_weather", {"city": "Rome"}, text="Let me check.", thinking="hmm")
    with client.messages.stream(
        model="claude-a",
        max_tokens=64,
        messages=[{"role": "user", "content": "weather?"}],
        tools=[{"name": "get_weather", "input_schema": WEATHER.parameters}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[2].input == {"city": "Rome"} and final.stop_reason == "tool_use"
    assert client.messages.count_tokens(model="claude-a", messages=[{"role": "user", "content": "hi"}]).input_tokens > 0
