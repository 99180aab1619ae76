"""OpenAICompatBackend against the in-process OpenAI fake (real loopback HTTP, no internet)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest

from offload.backends import create_backend
from offload.backends.openai_compat import OpenAICompatBackend
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
    ToolCallEvent,
    ToolSpec,
)
from tests.fakes.openai_server import FakeOpenAI, embedding
from tests.fakes.server import free_port, serve_app

ENV = "OFFLOAD_TEST_OPENAI_KEY"
KEY = "sk-test-0123456789abcdef"
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI(api_key=KEY, models=["m1", "embed-1"])
    with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakeOpenAI, str]) -> FakeOpenAI:
    served[0].reset()
    served[0].api_key = KEY
    return served[0]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def make(
    served: tuple[FakeOpenAI, str], sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., OpenAICompatBackend]]:
    monkeypatch.setenv(ENV, KEY)
    made: list[OpenAICompatBackend] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def _make(base_url: str | None = None, **cfg: Any) -> OpenAICompatBackend:
        config = BackendConfig(
            name="lms", kind="openai_compat", base_url=base_url or served[1] + "/v1", api_key_env=ENV, **cfg
        )
        backend = OpenAICompatBackend(config, sleep=fake_sleep)
        made.append(backend)
        return backend

    yield _make
    for b in made:
        await b.aclose()


def req(text: str = "hi", **kw: Any) -> ChatRequest:
    return ChatRequest.from_prompt(text, model="m1", **kw)


async def collect(backend: OpenAICompatBackend, request: ChatRequest) -> list[StreamEvent]:
    return [ev async for ev in backend.stream(request)]


# -- chat and stream ----------------------------------------------------------------------------------------
async def test_chat_sends_canonical_fields_and_reads_usage(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply("Hello there", usage=(11, 7))
    backend = make()
    r = req("hi", system="be brief", max_tokens=50, temperature=0.2, top_p=0.9, seed=7, stop=["END"], top_k=40)
    out = await backend.chat(r)
    assert out.content == "Hello there"
    assert (out.finish_reason, out.backend, out.model) == ("stop", "lms", "m1")
    assert (out.usage.input_tokens, out.usage.output_tokens) == (11, 7)
    assert out.timings.tokens_per_s is not None and out.timings.ttft_s is not None
    body = fake.last.json
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert {k: body[k] for k in ("max_tokens", "temperature", "top_p", "seed", "stop", "top_k")} == {
        "max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "seed": 7, "stop": ["END"], "top_k": 40,
    }  # fmt: skip
    assert "stream" not in body and "stream_options" not in body
    assert fake.last.headers["authorization"] == f"Bearer {KEY}"
    assert backend.capabilities.embed and not backend.capabilities.cloud


async def test_cloud_openai_gets_no_local_extensions(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    backend = make(cloud=True)
    await backend.chat(req(top_k=40, options={"extra_body": {"user": "u-1"}, "num_ctx": 4096}))
    assert "top_k" not in fake.last.json and "num_ctx" not in fake.last.json
    assert fake.last.json["user"] == "u-1"  # options["extra_body"] is the one pass-through
    assert backend.capabilities.cloud


async def test_stream_yields_text_then_one_end_with_usage(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply("streamed answer", chunk_size=2, usage=(5, 4))
    events = await collect(make(), req())
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3 and "".join(d.text for d in deltas) == "streamed answer"
    assert isinstance(events[-1], StreamEnd) and sum(isinstance(e, StreamEnd) for e in events) == 1
    end = events[-1].response
    assert (end.content, end.finish_reason, end.usage.input_tokens, end.usage.output_tokens) == (
        "streamed answer", "stop", 5, 4,
    )  # fmt: skip
    assert end.timings.ttft_s is not None and end.id.startswith("chatcmpl-")
    assert fake.last.json["stream"] is True
    assert fake.last.json["stream_options"] == {"include_usage": True}


async def test_stream_tool_call_fragments_arrive_as_one_complete_call(
    fake: FakeOpenAI, make: Callable[..., Any]
) -> None:
    args = {"city": "Paris", "units": "metric", "days": [1, 2, 3]}
    fake.reply_tool_call("get_weather", args, text="Checking.", args_chunk=3)
    events = await collect(make(), req("weather?", tools=[WEATHER]))
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].arguments == args
    assert calls[0].id.startswith("call_")
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.response.finish_reason == "tool_calls" and end.response.tool_calls == calls
    assert end.response.content == "Checking."


async def test_two_streamed_tool_calls_keep_their_order(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply(
        "",
        tool_calls=[{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {"y": "two"}}],
        args_chunk=2,
    )
    events = await collect(make(), req(tools=[WEATHER]))
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments) for c in calls] == [("a", {"x": 1}), ("b", {"y": "two"})]


async def test_chat_tool_call_and_round_trip_wire_shapes(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply_tool_call("get_weather", {"city": "Oslo"})
    backend = make()
    first = await backend.chat(req("weather in Oslo?", tools=[WEATHER], tool_choice="get_weather"))
    assert first.finish_reason == "tool_calls"
    call = first.tool_calls[0]
    assert (call.name, call.arguments) == ("get_weather", {"city": "Oslo"})
    sent = fake.last.json
    assert sent["tools"] == [{"type": "function", "function": WEATHER.model_dump()}]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}

    fake.reply("It is sunny.")
    follow = ChatRequest(
        model="m1",
        tools=[WEATHER],
        messages=[
            Message.text("user", "weather in Oslo?"),
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id=call.id, content=[TextPart(text="sunny, 21C")]),
            Message(role="tool", tool_call_id="call_x", content=[TextPart(text="boom")], is_error=True),
        ],
    )
    out = await backend.chat(follow)
    assert out.content == "It is sunny."
    wire = fake.last.json["messages"]
    assert wire[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
        ],
    }
    assert wire[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}
    assert wire[3] == {"role": "tool", "tool_call_id": "call_x", "content": "Error: boom"}


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (ResponseFormat(type="json"), {"type": "json_object"}),
        (
            ResponseFormat(type="json_schema", name="answer", json_schema={"type": "object"}),
            {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True}},
        ),
        (ResponseFormat(type="json_schema", json_schema={"type": "object"}), None),
    ],
)
async def test_response_formats(
    fake: FakeOpenAI, make: Callable[..., Any], fmt: ResponseFormat, expected: dict[str, Any] | None
) -> None:
    fake.reply('{"a": 1}')
    out = await make().chat(req(response_format=fmt))
    assert json.loads(out.content) == {"a": 1}
    sent = fake.last.json["response_format"]
    if expected is None:  # unnamed schema gets a default name (the API requires one)
        assert sent["json_schema"]["name"] == "response" and sent["json_schema"]["strict"] is True
    else:
        assert sent == expected


async def test_images_become_image_url_parts(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    msg = Message(
        role="user",
        content=[
            TextPart(text="what is this?"),
            ImagePart(media_type="image/jpeg", data="QUJD"),
            ImagePart(url="https://example.invalid/cat.png"),
        ],
    )
    await make().chat(ChatRequest(model="m1", messages=[msg]))
    assert fake.last.json["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}},
        {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png"}},
    ]


async def test_embeddings_list_models_and_health(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    backend = make()
    out = await backend.embed("embed-1", ["alpha", "beta gamma"])
    assert out.embeddings == [embedding("alpha"), embedding("beta gamma")]
    assert out.model == "embed-1" and out.usage.input_tokens > 0
    assert fake.last.json == {"model": "embed-1", "input": ["alpha", "beta gamma"], "encoding_format": "float"}
    assert [m.name for m in await backend.list_models()] == ["m1", "embed-1"]
    health = await backend.health()
    assert health.ok and health.latency_s is not None and health.hint is None


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_base_url_with_or_without_v1(
    served: tuple[FakeOpenAI, str], fake: FakeOpenAI, make: Callable[..., Any], suffix: str
) -> None:
    backend = make(served[1] + suffix)
    assert (await backend.chat(req())).content == "ok"
    assert fake.last.path == "/v1/chat/completions"
    assert [m.name for m in await backend.list_models()] == ["m1", "embed-1"]
    assert fake.last.path == "/v1/models"


def test_factory_builds_it() -> None:
    config = BackendConfig(name="vllm", kind="openai_compat", base_url="http://127.0.0.1:9/v1")
    backend = create_backend(config)
    assert isinstance(backend, OpenAICompatBackend) and backend.name == "vllm"


# -- errors -------------------------------------------------------------------------------------------------
async def test_401_hint_names_the_env_var(fake: FakeOpenAI, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.api_key = "sk-some-other-key-entirely"
    with pytest.raises(UpstreamHTTPError) as info:
        await make().chat(req())
    assert info.value.status == 401 and not info.value.retryable
    assert ENV in (info.value.hint or "") and "invalid_api_key" in info.value.message
    assert len(fake.requests) == 1 and sleeps == []


async def test_401_with_unset_env_var_says_so(
    fake: FakeOpenAI, make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = make()
    monkeypatch.delenv(ENV)
    with pytest.raises(UpstreamHTTPError) as info:
        await backend.chat(req())
    assert "authorization" not in fake.last.headers
    assert f"{ENV} is not set" in (info.value.hint or "")


async def test_404_unknown_model_is_not_retried(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    with pytest.raises(UpstreamHTTPError) as info:
        await make().chat(ChatRequest.from_prompt("hi", model="no-such-model"))
    assert info.value.status == 404 and "model_not_found" in info.value.message
    assert "no-such-model" in (info.value.hint or "")
    assert len(fake.requests) == 1


async def test_500_is_retried_then_succeeds(fake: FakeOpenAI, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.fail(500, "The server had an error", times=2).reply("finally")
    assert (await make(max_retries=2).chat(req())).content == "finally"
    assert len(fake.requests) == 3 and len(sleeps) == 2


async def test_stream_retries_until_headers(fake: FakeOpenAI, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.fail(503, "busy").reply("after retry")
    events = await collect(make(), req())
    assert isinstance(events[-1], StreamEnd) and events[-1].response.content == "after retry"
    assert len(sleeps) == 1


async def test_400_is_never_retried(fake: FakeOpenAI, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.fail(400, "Invalid 'messages'", param="messages")
    with pytest.raises(UpstreamHTTPError) as info:
        await make(max_retries=5).chat(req())
    assert info.value.status == 400 and "Invalid 'messages'" in info.value.message
    assert len(fake.requests) == 1 and sleeps == []


async def test_429_retry_after_is_honoured(fake: FakeOpenAI, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.fail(429, "Rate limit reached", retry_after="3").reply("ok now")
    assert (await make().chat(req())).content == "ok now"
    assert sleeps == [3.0]


async def test_429_retry_after_is_capped(fake: FakeOpenAI, make: Callable[..., Any], sleeps: list[float]) -> None:
    fake.fail(429, "Rate limit reached", retry_after="600", times=2)
    with pytest.raises(UpstreamHTTPError) as info:
        await make(max_retries=1, retry_max_wait_s=1.5).chat(req())
    assert sleeps == [1.5]
    assert info.value.status == 429 and info.value.retry_after == 600.0 and info.value.retryable


async def test_connection_refused_is_backend_unavailable(make: Callable[..., Any], sleeps: list[float]) -> None:
    backend = make(f"http://127.0.0.1:{free_port()}", max_retries=1)
    with pytest.raises(BackendUnavailable) as info:
        await backend.chat(req())
    assert "base_url" in (info.value.hint or "") and len(sleeps) == 1
    with pytest.raises(BackendUnavailable):
        await collect(backend, req())
    health = await backend.health()
    assert not health.ok and health.hint and "start the server" in health.hint


async def test_stream_ending_without_done_is_truncated(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply("this will be cut", chunk_size=2, drop_after=3, drop="eof")
    seen: list[StreamEvent] = []
    with pytest.raises(MalformedResponse) as info:
        async for ev in make().stream(req()):
            seen.append(ev)
    assert "truncated" in info.value.message
    assert seen and not any(isinstance(e, StreamEnd) for e in seen)


async def test_connection_dropped_mid_stream(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply("this will be cut", chunk_size=2, drop_after=3, drop="abort")
    with pytest.raises(BackendUnavailable) as info:
        await collect(make(), req())
    assert "mid-stream" in info.value.message


async def test_error_chunk_mid_stream(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply("abc", drop_after=2, stream_error={"message": "model crashed", "type": "server_error", "code": None})
    with pytest.raises(UpstreamHTTPError) as info:
        await collect(make(), req())
    assert "model crashed" in info.value.message and info.value.retryable


async def test_server_sees_disconnect_when_consumer_stops(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    fake.reply("x" * 200, chunk_size=1, chunk_delay=0.05)
    gen = make().stream(req())
    first = await gen.__anext__()
    assert isinstance(first, TextDelta)
    await gen.aclose()
    assert await asyncio.to_thread(fake.disconnected.wait, 10)


# -- pass-through and redaction -----------------------------------------------------------------------------
async def test_forward_sends_body_unchanged_with_own_key(fake: FakeOpenAI, make: Callable[..., Any]) -> None:
    raw = b'{"model": "m1",  "messages": [{"role": "user", "content": "hi"}], "stream": true}'
    caller = {
        "Authorization": "Bearer client-token",
        "Host": "evil.example",
        "Content-Type": "application/json",
        "OpenAI-Beta": "assistants=v2",
        "X-Forwarded-Host": "evil.example",
    }
    resp = await make().forward("/v1/chat/completions", raw, caller)
    try:
        body = b"".join([chunk async for chunk in resp.aiter_raw()])
    finally:
        await resp.aclose()
    assert fake.last.body == raw
    headers = fake.last.headers
    assert headers["authorization"] == f"Bearer {KEY}" and headers["openai-beta"] == "assistants=v2"
    assert headers["host"].startswith("127.0.0.1") and "x-forwarded-host" not in headers
    assert body.startswith(b"data: {") and body.rstrip().endswith(b"data: [DONE]")


async def test_forward_errors_and_path_checks(fake: FakeOpenAI, make: Callable[..., Any], sleeps: list[float]) -> None:
    backend = make()
    fake.fail(500, "oops").reply("fine")
    resp = await backend.forward("/v1/chat/completions", b'{"model": "m1", "messages": [{"role": "user"}]}', {})
    try:
        assert json.loads(await resp.aread())["choices"][0]["message"]["content"] == "fine"
    finally:
        await resp.aclose()
    assert len(sleeps) == 1
    with pytest.raises(UpstreamHTTPError) as info:  # the upstream's own 400 comes back typed, body kept
        await backend.forward("/v1/chat/completions", b"{}", {})
    assert info.value.status == 400 and "you must provide a model parameter" in info.value.body
    assert len(sleeps) == 1
    for path in ("http://elsewhere/v1/chat", "//elsewhere/v1/x", "/v1//elsewhere/x", "/admin", "/v1/../secret"):
        with pytest.raises(InvalidRequest):
            await backend.forward(path, b"{}", {})


async def test_redaction_canary(fake: FakeOpenAI, make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"sk-CANARY-{secrets.token_hex(12)}"
    monkeypatch.setenv(ENV, canary)
    fake.api_key = "sk-the-right-key-is-another"  # the fake echoes the wrong key back in its 401 message
    backend = make()
    texts: list[str] = []
    for call in (backend.chat(req()), collect(backend, req()), backend.embed("embed-1", ["x"])):
        with pytest.raises(UpstreamHTTPError) as info:
            await call
        err = info.value
        texts += [str(err), repr(err), err.message, err.body, err.hint or "", json.dumps(err.to_dict())]
    health = await backend.health()
    texts += [health.detail, health.hint or ""]
    assert fake.last.headers["authorization"] == f"Bearer {canary}"  # it was really sent upstream
    assert any("Incorrect API key" in t for t in texts)
    assert not any(canary in t for t in texts)


# -- the fake speaks the real format: drive it with the official SDK -----------------------------------------
def test_fake_speaks_openai_wire_format_to_the_sdk(fake: FakeOpenAI, served: tuple[FakeOpenAI, str]) -> None:
    client = openai.OpenAI(base_url=served[1] + "/v1", api_key=KEY, max_retries=0)
    fake.reply("Hi from the fake", usage=(3, 4))
    plain = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "hi"}])
    assert plain.choices[0].message.content == "Hi from the fake" and plain.usage is not None
    assert plain.usage.total_tokens == 7

    fake.reply_tool_call("get_weather", {"city": "Rome"}, text="Let me check.")
    with client.chat.completions.stream(
        model="m1",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER.parameters}}],
        stream_options={"include_usage": True},
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Let me check." and final.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls and json.loads(message.tool_calls[0].function.arguments) == {"city": "Rome"}
    assert final.usage is not None and final.usage.completion_tokens > 0

    vectors = client.embeddings.create(model="embed-1", input=["alpha"])  # SDK asks for base64 and decodes it
    assert vectors.data[0].embedding == embedding("alpha")
