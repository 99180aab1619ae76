"""The Ollama backend against FakeOllama (a faithful fake of Ollama's REST API) on a real loopback socket."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette

from offload.backends.base import Backend, ModelOps
from offload.backends.ollama import OllamaBackend
from offload.backends.ollama_wire import chat_payload, finish_reason, tool_calls_from_wire
from offload.config import BackendConfig
from offload.errors import (
    BackendError,
    BackendUnavailable,
    MalformedResponse,
    UnknownModel,
    UnsupportedContent,
    UpstreamHTTPError,
)
from offload.types import (
    ChatRequest,
    ImagePart,
    Message,
    ResponseFormat,
    StreamEnd,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
)
from tests.fakes.ollama import FakeAnswer, FakeModel, FakeOllama, parse_keep_alive, sample_for_schema
from tests.fakes.server import free_port, serve_app

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the weather in a given city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class Sleeps(list[float]):
    """A fake ``sleep`` that records the waits instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> FakeOllama:
    f = FakeOllama()
    f.add_model(FakeModel("gemma3:1b", family="gemma3", capabilities=("completion", "vision")))
    return f


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[str, list[FakeOllama]]]:
    """One loopback server per module, dispatching to the current test's fake (fresh state per test)."""
    current: list[FakeOllama] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await current[-1].app(scope, receive, send)

    with serve_app(app) as url:
        yield url, current


@pytest.fixture
def base_url(fake: FakeOllama, _server: tuple[str, list[FakeOllama]]) -> str:
    url, current = _server
    current[:] = [fake]
    return url


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_backend(base_url: str, sleeps: Sleeps) -> AsyncIterator[Callable[..., OllamaBackend]]:
    made: list[OllamaBackend] = []

    def make(url: str | None = None, **cfg: Any) -> OllamaBackend:
        config = BackendConfig(name="local", kind="ollama", base_url=url or base_url, **cfg)
        backend = OllamaBackend(config, sleep=sleeps)
        made.append(backend)
        return backend

    yield make
    for b in made:
        await b.aclose()


@pytest.fixture
def backend(make_backend: Callable[..., OllamaBackend]) -> OllamaBackend:
    return make_backend()


def ask(text: str, model: str = "llama3.2", **kw: Any) -> ChatRequest:
    return ChatRequest.from_prompt(text, model=model, **kw)


async def collect(backend: OllamaBackend, request: ChatRequest) -> list[Any]:
    return [event async for event in backend.stream(request)]


# -- protocol & chat -----------------------------------------------------------------------------------------
def test_implements_backend_and_model_ops(backend: OllamaBackend) -> None:
    assert isinstance(backend, Backend) and isinstance(backend, ModelOps)
    caps = backend.capabilities
    assert (caps.embed, caps.pull, caps.ps, caps.keep_alive, caps.cloud) == (True, True, True, True, False)


async def test_chat_maps_request_and_response(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue("Paris is the capital.")
    request = ask(
        "Capital of France?",
        system="Be brief.",
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        seed=7,
        max_tokens=64,
        stop=["\n\n"],
        options={"num_ctx": 8192, "keep_alive": "10m"},
    )
    resp = await backend.chat(request)

    sent = fake.requests_to("/api/chat")[-1].body
    assert sent == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ],
        "stream": False,
        "keep_alive": "10m",
        "options": {"temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7, "num_predict": 64, "stop": ["\n\n"],
                    "num_ctx": 8192},
    }  # fmt: skip
    assert resp.content == "Paris is the capital."
    assert resp.backend == "local" and resp.model == "llama3.2" and resp.finish_reason == "stop"
    # the fake counts a word as a token: 4 output tokens; 2 prompt words + 1 system word... + 2 per message
    assert resp.usage.output_tokens == 4
    assert resp.usage.input_tokens == fake_prompt_tokens(["Be brief.", "Capital of France?"])
    assert resp.timings.tokens_per_s == pytest.approx(50.0)  # eval_count / eval_duration * 1e9
    assert resp.timings.total_s > 0 and resp.timings.ttft_s is not None
    assert resp.raw is not None and resp.raw["done"] is True


def fake_prompt_tokens(texts: list[str]) -> int:
    return sum(len(t.split()) for t in texts) + 2 * len(texts)


async def test_num_predict_gives_length_finish_reason(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue("one two three four five six")
    resp = await backend.chat(ask("count", max_tokens=2))
    assert resp.content == "one two"
    assert resp.finish_reason == "length" and resp.usage.output_tokens == 2


async def test_stream_yields_deltas_then_one_end_with_usage(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue("The sky is blue because of Rayleigh scattering.")
    events = await collect(backend, ask("why is the sky blue?"))

    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 8 and deltas[0].text == "The" and deltas[1].text == " sky"
    assert isinstance(events[-1], StreamEnd) and sum(isinstance(e, StreamEnd) for e in events) == 1
    end = events[-1].response
    assert end.content == "".join(d.text for d in deltas) == "The sky is blue because of Rayleigh scattering."
    assert end.usage.output_tokens == 8 and end.usage.input_tokens > 0
    assert end.finish_reason == "stop" and end.timings.ttft_s is not None
    assert end.timings.tokens_per_s == pytest.approx(50.0)
    assert fake.requests_to("/api/chat")[-1].body["stream"] is True


async def test_default_answer_echoes_and_works_over_asgi_transport(fake: FakeOllama) -> None:
    config = BackendConfig(name="asgi", kind="ollama", base_url="http://ollama.test")
    backend = OllamaBackend(config, transport=httpx.ASGITransport(app=fake.app))
    try:
        assert (await backend.chat(ask("ping"))).content == "Echo: ping"
        events = await collect(backend, ask("pong"))
        assert events[-1].response.content == "Echo: pong"
        assert "gemma3:1b" in {m.name for m in await backend.list_models()}
    finally:
        await backend.aclose()


# -- tools, formats, images ------------------------------------------------------------------------------------
async def test_tool_call_round_trip(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue_tool_call("get_weather", {"city": "Tokyo"})
    first = await backend.chat(ask("weather in Tokyo?", tools=[WEATHER]))

    assert fake.requests_to("/api/chat")[-1].body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": WEATHER.description,
                                          "parameters": WEATHER.parameters}}
    ]  # fmt: skip
    assert first.finish_reason == "tool_calls" and first.content == ""
    (call,) = first.tool_calls
    assert call.name == "get_weather" and call.arguments == {"city": "Tokyo"} and call.id.startswith("call_")

    fake.queue("It is 11 degrees in Tokyo.")
    follow_up = ChatRequest(
        model="llama3.2",
        tools=[WEATHER],
        messages=[
            Message.text("user", "weather in Tokyo?"),
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id=call.id, content=[TextPart(text="11 degrees celsius")]),
        ],
    )
    second = await backend.chat(follow_up)
    assert second.content == "It is 11 degrees in Tokyo." and second.finish_reason == "stop"
    msgs = fake.requests_to("/api/chat")[-1].body["messages"]
    assert msgs[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": call.id, "function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}}],
    }
    assert msgs[2] == {"role": "tool", "content": "11 degrees celsius", "tool_name": "get_weather",
                       "tool_call_id": call.id}  # fmt: skip


async def test_streamed_tool_call_keeps_server_id(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue_tool_call("get_weather", {"city": "Oslo"}, id="call_srv1", content="Checking.")
    events = await collect(backend, ask("weather in Oslo?", tools=[WEATHER]))
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [ToolCall(id="call_srv1", name="get_weather", arguments={"city": "Oslo"})]
    end = events[-1].response
    assert end.finish_reason == "tool_calls" and end.tool_calls == calls and end.content == "Checking."


async def test_tool_choice_none_sends_no_tools(fake: FakeOllama, backend: OllamaBackend) -> None:
    await backend.chat(ask("hi", tools=[WEATHER], tool_choice="none"))
    assert "tools" not in fake.requests_to("/api/chat")[-1].body


async def test_model_without_tool_support_is_a_400_not_retried(
    fake: FakeOllama, backend: OllamaBackend, sleeps: Sleeps
) -> None:
    with pytest.raises(UpstreamHTTPError) as info:
        await backend.chat(ask("weather?", model="gemma3:1b", tools=[WEATHER]))
    assert info.value.status == 400 and not info.value.retryable
    assert "does not support tools" in str(info.value) and "capability" in (info.value.hint or "")
    assert len(fake.requests_to("/api/chat")) == 1 and sleeps == []


async def test_json_mode_and_json_schema(fake: FakeOllama, backend: OllamaBackend) -> None:
    resp = await backend.chat(ask("reply in JSON", response_format=ResponseFormat(type="json")))
    assert fake.requests_to("/api/chat")[-1].body["format"] == "json"
    assert isinstance(json.loads(resp.content), dict)

    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
        "required": ["age", "available"],
    }
    resp = await backend.chat(ask("age?", response_format=ResponseFormat(type="json_schema", json_schema=schema)))
    assert fake.requests_to("/api/chat")[-1].body["format"] == schema
    jsonschema.validate(json.loads(resp.content), schema)


async def test_images_are_sent_as_base64(fake: FakeOllama, backend: OllamaBackend) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    message = Message(
        role="user",
        content=[
            TextPart(text="what is in this image?"),
            ImagePart(data=png),
            ImagePart(data=f"data:image/png;base64,{png}"),
        ],
    )
    fake.queue("A cute pig.")
    resp = await backend.chat(ChatRequest(model="gemma3:1b", messages=[message]))
    assert resp.content == "A cute pig."
    sent = fake.requests_to("/api/chat")[-1].body["messages"][0]
    assert sent == {"role": "user", "content": "what is in this image?", "images": [png, png]}


async def test_image_url_is_rejected_before_sending(fake: FakeOllama, backend: OllamaBackend) -> None:
    message = Message(role="user", content=[ImagePart(url="https://example.com/cat.png")])
    with pytest.raises(UnsupportedContent, match="base64"):
        await backend.chat(ChatRequest(model="gemma3:1b", messages=[message]))
    assert fake.requests_to("/api/chat") == []


# -- embeddings & model listings -------------------------------------------------------------------------------
async def test_embed(fake: FakeOllama, backend: OllamaBackend) -> None:
    result = await backend.embed("nomic-embed-text", ["Why is the sky blue?", "Why is the grass green?"])
    assert fake.requests_to("/api/embed")[-1].body == {
        "model": "nomic-embed-text",
        "input": ["Why is the sky blue?", "Why is the grass green?"],
    }
    assert len(result.embeddings) == 2 and all(len(v) == 16 for v in result.embeddings)
    assert result.embeddings[0] != result.embeddings[1] and result.usage.input_tokens == 10


async def test_list_models(backend: OllamaBackend, fake: FakeOllama) -> None:
    models = {m.name: m for m in await backend.list_models()}
    assert set(models) == {"llama3.2:latest", "nomic-embed-text:latest", "gemma3:1b"}
    llama = models["llama3.2:latest"]
    assert llama.backend == "local" and llama.size_bytes == 2_019_393_189
    assert llama.family == "llama" and llama.quantization == "Q4_K_M"
    assert llama.details["parameter_size"] == "3.2B" and llama.details["digest"] == fake.models[llama.name].digest


async def test_ps_and_show(backend: OllamaBackend) -> None:
    assert await backend.ps() == []
    await backend.chat(ask("hi", options={"num_ctx": 16384}))
    (running,) = await backend.ps()
    assert running.name == "llama3.2:latest" and running.vram_bytes == running.size_bytes == 2_019_393_189
    assert running.expires_at and running.context_window == 16384

    info = await backend.show("llama3.2")
    assert info.name == "llama3.2" and info.context_window == 131072 and info.family == "llama"
    assert info.details["capabilities"] == ["completion", "tools"]
    with pytest.raises(UnknownModel, match="ollama pull nope"):
        await backend.show("nope")


# -- model operations ------------------------------------------------------------------------------------------
async def test_pull_streams_progress_and_installs(backend: OllamaBackend) -> None:
    events = [p async for p in backend.pull("qwen2.5-coder:7b")]
    statuses = [e.status for e in events]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = [e for e in events if e.digest]
    assert len({e.digest for e in layers}) == 3
    assert all(e.status == f"pulling {e.digest[7:19]}" and e.total for e in layers)
    first = [e.completed or 0 for e in layers if e.digest == layers[0].digest]
    assert first == sorted(first) and first[-1] == layers[0].total
    assert "qwen2.5-coder:7b" in {m.name for m in await backend.list_models()}


async def test_pull_failing_midway_resumes_from_completed_bytes(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.fail_pull_once("qwen2.5-coder:7b", after_bytes=2_000_000_000)
    seen = []
    with pytest.raises(BackendError) as info:
        async for progress in backend.pull("qwen2.5-coder:7b"):
            seen.append(progress)
    assert "unexpected EOF" in str(info.value)
    assert seen[-1].completed == 2_000_000_000
    assert "qwen2.5-coder:7b" not in fake.models

    resumed = [p async for p in backend.pull("qwen2.5-coder:7b")]
    first_layer = next(p for p in resumed if p.digest)
    assert first_layer.digest == seen[-1].digest and first_layer.completed == 2_000_000_000
    assert resumed[-1].status == "success" and "qwen2.5-coder:7b" in fake.models


async def test_pull_of_unknown_model(backend: OllamaBackend) -> None:
    with pytest.raises(UnknownModel) as info:
        [p async for p in backend.pull("no-such-model:1b")]
    assert "file does not exist" in str(info.value) and "ollama.com/library" in (info.value.hint or "")


async def test_load_and_unload_via_keep_alive(fake: FakeOllama, backend: OllamaBackend) -> None:
    await backend.load("llama3.2", keep_alive="10m")
    assert fake.requests_to("/api/generate")[-1].body == {"model": "llama3.2", "stream": False, "keep_alive": "10m"}
    assert [m.name for m in await backend.ps()] == ["llama3.2:latest"]

    await backend.unload("llama3.2")
    assert fake.requests_to("/api/generate")[-1].body["keep_alive"] == 0
    assert await backend.ps() == []

    await backend.load("llama3.2", keep_alive="-1")  # forever; Ollama rejects the string "-1", so it is sent as -1
    assert fake.requests_to("/api/generate")[-1].body["keep_alive"] == -1
    (forever,) = await backend.ps()
    assert forever.expires_at and int(forever.expires_at[:4]) > 2200
    with pytest.raises(UnknownModel):
        await backend.load("missing-model")


async def test_loaded_model_expires_on_the_fake_clock(fake: FakeOllama, backend: OllamaBackend) -> None:
    now = [1_000_000.0]
    fake.clock = lambda: now[0]
    await backend.load("llama3.2", keep_alive="1m")
    assert len(await backend.ps()) == 1
    now[0] += 61
    assert await backend.ps() == []


# -- errors & retries ------------------------------------------------------------------------------------------
async def test_unknown_model_maps_to_unknown_model_with_hint(backend: OllamaBackend) -> None:
    with pytest.raises(UnknownModel) as info:
        await backend.chat(ask("hi", model="llama9"))
    assert "model 'llama9' not found" in str(info.value)
    assert info.value.hint == "run `ollama pull llama9` or `offload setup`"
    with pytest.raises(UnknownModel):
        await collect(backend, ask("hi", model="llama9"))


async def test_500_is_retried_then_succeeds(fake: FakeOllama, backend: OllamaBackend, sleeps: Sleeps) -> None:
    fake.fail_next(500, "model runner crashed", path="/api/chat")
    fake.queue("recovered")
    assert (await backend.chat(ask("hi"))).content == "recovered"
    assert len(fake.requests_to("/api/chat")) == 2 and len(sleeps) == 1


async def test_503_exhausts_retries(fake: FakeOllama, backend: OllamaBackend, sleeps: Sleeps) -> None:
    fake.fail_next(503, "server busy, please try again.  maximum pending requests exceeded", times=5)
    with pytest.raises(UpstreamHTTPError) as info:
        await collect(backend, ask("hi"))
    assert info.value.status == 503 and "server busy" in str(info.value) and "server log" in (info.value.hint or "")
    assert len(fake.requests_to("/api/chat")) == 3 and len(sleeps) == 2  # max_retries=2


async def test_400_is_not_retried(fake: FakeOllama, backend: OllamaBackend, sleeps: Sleeps) -> None:
    fake.fail_next(400, "invalid options: num_ctx")
    with pytest.raises(UpstreamHTTPError) as info:
        await backend.chat(ask("hi"))
    assert info.value.status == 400 and str(info.value).startswith("ollama backend 'local' answered HTTP 400: invalid")
    assert len(fake.requests_to("/api/chat")) == 1 and sleeps == []


async def test_429_honours_retry_after(fake: FakeOllama, backend: OllamaBackend, sleeps: Sleeps) -> None:
    fake.fail_next(429, "too many requests", headers={"Retry-After": "7"})
    fake.queue("after the wait")
    assert (await backend.chat(ask("hi"))).content == "after the wait"
    assert sleeps == [7.0]


async def test_connection_refused_is_backend_unavailable(make_backend: Callable[..., OllamaBackend]) -> None:
    backend = make_backend(f"http://127.0.0.1:{free_port()}", max_retries=0)
    with pytest.raises(BackendUnavailable) as info:
        await backend.chat(ask("hi"))
    assert "ollama serve" in (info.value.hint or "") and "11434" in (info.value.hint or "")
    health = await backend.health()
    assert not health.ok and "ollama serve" in (health.hint or "")


async def test_health(backend: OllamaBackend, make_backend: Callable[..., OllamaBackend]) -> None:
    health = await backend.health()
    assert health.ok and health.detail == "ollama 0.9.6" and health.latency_s is not None

    with serve_app(Starlette()) as url:  # some other server: no /api/version
        wrong = await make_backend(url).health()
    assert not wrong.ok and "base_url" in (wrong.hint or "")


async def test_malformed_ndjson_line(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue_raw([{"model": "llama3.2", "message": {"role": "assistant", "content": "Hi"}, "done": False}, "{oops"])
    with pytest.raises(MalformedResponse, match="not JSON"):
        await collect(backend, ask("hi"))


async def test_stream_without_done_is_malformed(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue_raw([{"model": "llama3.2", "message": {"role": "assistant", "content": "Hi"}, "done": False}])
    with pytest.raises(MalformedResponse, match="done:true"):
        await collect(backend, ask("hi"))


async def test_error_line_mid_stream(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue(FakeAnswer(content="Yes. I can help", error_after=2))
    got: list[Any] = []
    with pytest.raises(UpstreamHTTPError, match="an error was encountered while running the model"):
        async for event in backend.stream(ask("hi")):
            got.append(event)
    assert [e.text for e in got] == ["Yes.", " I"]


async def test_non_json_answer_is_malformed(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.fail_next(200, body="<html>captive portal</html>")
    with pytest.raises(MalformedResponse, match="non-JSON"):
        await backend.chat(ask("hi"))


async def test_connection_dropped_mid_stream(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue(FakeAnswer(content="one two three four five six", drop_after_chunks=2))
    got: list[Any] = []
    with pytest.raises(BackendUnavailable, match="closed the stream"):
        async for event in backend.stream(ask("hi")):
            got.append(event)
    assert [e.text for e in got] == ["one", " two"]


async def test_closing_a_stream_disconnects_upstream(fake: FakeOllama, backend: OllamaBackend) -> None:
    fake.queue(FakeAnswer(content=" ".join(f"w{i}" for i in range(200)), chunk_delay=0.02))
    stream = backend.stream(ask("long answer please"))
    assert isinstance(await anext(stream), TextDelta)
    assert isinstance(await anext(stream), TextDelta)
    await stream.aclose()  # type: ignore[attr-defined]
    assert fake.disconnected.wait(5)
    assert fake.disconnects == 1


# -- secrets ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["sk-CANARY-7f3a9c2e1b4d", "CANARYplain0123456789"])
async def test_api_key_is_sent_but_never_in_errors(
    fake: FakeOllama, make_backend: Callable[..., OllamaBackend], monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("OLLAMA_TEST_KEY", key)
    fake.api_key = key
    backend = make_backend(api_key_env="OLLAMA_TEST_KEY", max_retries=0)
    assert (await backend.chat(ask("hi"))).content == "Echo: hi"
    assert fake.requests[-1].headers["authorization"] == f"Bearer {key}"

    errors: list[BackendError] = []
    fake.fail_next(400, f"bad header Authorization: Bearer {key} (key={key})")
    with pytest.raises(UpstreamHTTPError) as bad:
        await backend.chat(ask("hi"))
    errors.append(bad.value)
    fake.queue(FakeAnswer(content="x", error_after=0, error=f"runner died with key {key}"))
    with pytest.raises(UpstreamHTTPError) as mid:
        await collect(backend, ask("hi"))
    errors.append(mid.value)
    monkeypatch.setenv("OLLAMA_TEST_KEY", "wrong-key-123")
    wrong = make_backend(api_key_env="OLLAMA_TEST_KEY", max_retries=0)
    with pytest.raises(UpstreamHTTPError) as unauthorized:
        await wrong.chat(ask("hi"))
    assert unauthorized.value.status == 401 and "$OLLAMA_TEST_KEY" in (unauthorized.value.hint or "")
    errors.append(unauthorized.value)
    down = make_backend(f"http://127.0.0.1:{free_port()}", api_key_env="OLLAMA_TEST_KEY", max_retries=0)
    with pytest.raises(BackendUnavailable) as refused:
        await down.chat(ask("hi"))
    errors.append(refused.value)

    for err in errors:
        texts = [str(err), repr(err), json.dumps(err.to_dict()), getattr(err, "body", ""), str(err.details)]
        assert all(key not in t for t in texts), err


# -- the fake itself -------------------------------------------------------------------------------------------
def test_official_ollama_sdk_talks_to_the_fake(fake: FakeOllama, base_url: str) -> None:
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=base_url)
    fake.queue("Hello from the fake.")
    reply = client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert reply.message.content == "Hello from the fake." and reply.done and reply.eval_count == 4

    fake.queue_tool_call("get_weather", {"city": "Paris"})
    tool_reply = client.chat(model="llama3.2", messages=[{"role": "user", "content": "weather?"}], tools=[
        {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER.parameters}}])  # fmt: skip
    assert tool_reply.message.tool_calls[0].function.arguments == {"city": "Paris"}

    chunks = list(client.chat(model="llama3.2", messages=[{"role": "user", "content": "a b"}], stream=True))
    assert "".join(c.message.content for c in chunks) == "Echo: a b" and chunks[-1].done

    progress = list(client.pull("qwen2.5-coder:7b", stream=True))
    assert progress[0].status == "pulling manifest" and progress[-1].status == "success"
    assert {m.model for m in client.list().models} >= {"qwen2.5-coder:7b", "llama3.2:latest"}
    assert client.show("llama3.2").modelinfo["llama.context_length"] == 131072
    assert [m.model for m in client.ps().models] == ["llama3.2:latest"]
    assert len(client.embed(model="nomic-embed-text", input=["x"]).embeddings[0]) == 16
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 404 and info.value.error == "model 'nope' not found"


async def test_fake_generate_endpoint(fake: FakeOllama) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://o") as client:
        loaded = (await client.post("/api/generate", json={"model": "llama3.2"})).json()
        assert loaded["done_reason"] == "load" and loaded["response"] == ""
        fake.queue("The sky is blue.")
        r = await client.post("/api/generate", json={"model": "llama3.2", "prompt": "why?", "stream": False})
        body = r.json()
        assert body["response"] == "The sky is blue." and body["done"] and body["context"]
        assert body["eval_count"] == 4 and body["eval_duration"] == 4 * 20_000_000
        r = await client.post("/api/generate", json={"model": "llama3.2", "prompt": "a b", "keep_alive": "-1m"})
        assert r.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(x) for x in r.text.splitlines()]
        assert "".join(x["response"] for x in lines) == "Echo: a b" and lines[-1]["done_reason"] == "stop"
        bad = await client.post("/api/generate", json={"model": "llama3.2", "keep_alive": "-1"})
        assert bad.status_code == 400 and bad.json() == {"error": 'time: missing unit in duration "-1"'}
        assert (await client.post("/api/chat", content=b"")).json() == {"error": "missing request body"}


def test_keep_alive_parsing_follows_go_durations() -> None:
    assert parse_keep_alive(None) == 300 and parse_keep_alive(0) == 0 and parse_keep_alive("0") == 0
    assert parse_keep_alive(90) == 90 and parse_keep_alive("1h30m") == 5400 and parse_keep_alive("500ms") == 0.5
    assert parse_keep_alive(-1) == float("inf") and parse_keep_alive("-1m") == float("inf")
    for bad in ("-1", "5x", "", "m"):
        with pytest.raises(ValueError):
            parse_keep_alive(bad)


def test_schema_sampler_produces_valid_instances() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "kind": {"enum": ["a", "b"]},
            "n": {"type": "integer", "minimum": 5},
        },
        "required": ["name", "tags", "kind", "n"],
    }
    jsonschema.validate(sample_for_schema(schema), schema)


# -- wire conversion edge cases --------------------------------------------------------------------------------
def test_wire_tool_calls_accept_string_arguments_and_reject_garbage() -> None:
    calls = tool_calls_from_wire({"tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}]})
    assert calls[0].arguments == {"a": 1} and calls[0].id.startswith("call_")
    with pytest.raises(MalformedResponse):
        tool_calls_from_wire({"tool_calls": [{"function": {"arguments": {}}}]})
    with pytest.raises(MalformedResponse):
        tool_calls_from_wire({"tool_calls": [{"function": {"name": "f", "arguments": "[1, 2]"}}]})


def test_wire_payload_edge_cases() -> None:
    tool_result = Message(role="tool", name="lookup", is_error=True, content=[TextPart(text="no such row")])
    request = ChatRequest(
        model="m",
        messages=[Message.text("user", "hi"), tool_result],
        response_format=ResponseFormat(type="json_schema"),  # no schema given: plain JSON mode
        options={"keep_alive": "300", "think": True, "options": {"num_gpu": 1}, "repeat_penalty": 1.1},
    )
    payload = chat_payload(request, stream=True)
    assert payload["format"] == "json" and payload["keep_alive"] == 300 and payload["think"] is True
    assert payload["options"] == {"num_gpu": 1, "repeat_penalty": 1.1}
    assert payload["messages"][1] == {"role": "tool", "content": "Error: no such row", "tool_name": "lookup"}
    assert finish_reason("length", False) == "length" and finish_reason("stop", True) == "tool_calls"
    assert finish_reason("load", False) == "stop"
