"""The official ``ollama`` SDK against a running gateway: chat, generate, streaming, tools, JSON, listings, errors."""

from __future__ import annotations

import base64
import json

import httpx
import ollama
import pytest

from offload.types import ToolCall
from tests.server.conftest import MODEL, Gateway

pytestmark = pytest.mark.sdk


def client(gw: Gateway) -> ollama.Client:
    return ollama.Client(host=gw.url)


def test_chat_plain_and_streaming(gw: Gateway) -> None:
    c = client(gw)
    out = c.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=False)
    assert out.message.content == "Hello from offload" and out.done and out.eval_count
    gw.local.add("one two three")
    parts = list(c.chat(model=MODEL, messages=[{"role": "user", "content": "count"}], stream=True))
    assert "".join(p.message.content or "" for p in parts) == "one two three"
    assert parts[-1].done and parts[-1].done_reason == "stop" and not any(p.done for p in parts[:-1])
    assert gw.journal_rows()[0].dialect == "ollama"


def test_generate_plain_and_streaming(gw: Gateway) -> None:
    c = client(gw)
    out = c.generate(model=MODEL, prompt="hi", system="terse", options={"temperature": 0, "num_predict": 20})
    assert out.response == "Hello from offload"
    seen = gw.local.requests[-1]
    assert seen.system == "terse" and seen.max_tokens == 20 and seen.temperature == 0
    gw.local.add("streamed text")
    assert "".join(p.response for p in c.generate(model=MODEL, prompt="x", stream=True)) == "streamed text"


def test_tools_and_images(gw: Gateway) -> None:
    gw.local.add("", tool_calls=[ToolCall(id="t1", name="add", arguments={"a": 1, "b": 2})])
    img = base64.b64encode(b"\x89PNG\r\n\x1a\nimage").decode()

    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
          a: first
          b: second
        """
        return a + b

    out = client(gw).chat(model=MODEL, messages=[{"role": "user", "content": "1+2?", "images": [img]}], tools=[add])
    call = out.message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "add" and call.function.arguments == {"a": 1, "b": 2}
    seen = gw.local.requests[-1]
    assert seen.tools[0].name == "add" and seen.messages[0].images[0].data == img


def test_json_format(gw: Gateway) -> None:
    gw.local.add('{"age": 22}')
    out = client(gw).chat(
        model=MODEL,
        messages=[{"role": "user", "content": "age?"}],
        format={"type": "object", "properties": {"age": {"type": "integer"}}},
    )
    assert json.loads(out.message.content or "") == {"age": 22}
    assert gw.local.requests[-1].response_format.type == "json_schema"


def test_listings(gw: Gateway) -> None:
    c = client(gw)
    assert {m.model for m in c.list().models} == {"auto", MODEL}
    show = c.show(MODEL)
    assert "tools" in (show.capabilities or []) and show.modelinfo
    assert c.ps().models == []
    emb = c.embed(model=MODEL, input=["a", "b"])
    assert len(emb.embeddings) == 2
    assert httpx.get(gw.url + "/api/version").json()["version"]
    load = c.chat(model=MODEL, messages=[])
    assert load.done_reason == "load"


def test_errors(gw: Gateway) -> None:
    c = client(gw)
    with pytest.raises(ollama.ResponseError) as nf:
        c.chat(model="missing", messages=[{"role": "user", "content": "hi"}])
    assert nf.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as bad:
        c.chat(model=MODEL, messages=[{"role": "narrator", "content": "hi"}])
    assert bad.value.status_code == 400 and "role" in bad.value.error
    with pytest.raises(ollama.ResponseError):
        c.show("missing")
