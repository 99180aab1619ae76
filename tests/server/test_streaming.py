"""Streaming edge cases: a client disconnect cancels the upstream; an upstream failure mid-stream ends the stream
with the dialect's error event; an error before the first event is an ordinary error response."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import anthropic
import httpx
import ollama
import openai
import pytest

from offload.backends.scripted import ScriptedBackend
from offload.errors import BackendUnavailable
from offload.types import ChatRequest, StreamEvent, TextDelta
from tests.server.conftest import MODEL, Gateway

REQUESTS = {
    "openai": (
        "/v1/chat/completions",
        {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "go"}]},
    ),
    "anthropic": (
        "/v1/messages",
        {"model": MODEL, "stream": True, "max_tokens": 100, "messages": [{"role": "user", "content": "go"}]},
    ),
    "ollama": ("/api/chat", {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "go"}]}),
}


class BreaksMidStream(ScriptedBackend):
    """Streams two pieces, then loses its upstream."""

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:  # type: ignore[override]
        self.requests.append(request)
        yield TextDelta(text="partial ")
        yield TextDelta(text="answer")
        raise BackendUnavailable("the upstream connection dropped", backend=self.name)


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.mark.parametrize("dialect", list(REQUESTS))
def test_disconnect_cancels_upstream_and_journals_cancelled(make_gateway, dialect: str) -> None:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend("local", models=[MODEL], chunk_size=2)
    backend.add("word " * 2000, chunk_delay=0.02)  # ~40 s if nobody stopped it
    gw: Gateway = make_gateway(backends={"local": backend})
    path, body = REQUESTS[dialect]
    with httpx.Client(base_url=gw.url, timeout=10) as c, c.stream("POST", path, json=body) as r:
        assert r.status_code == 200
        got = b""
        for chunk in r.iter_raw():
            got += chunk
            if got.count(b"word") >= 3 or len(got) > 2000:
                break
    # leaving the block closed the connection mid-stream
    assert wait_for(lambda: backend.cancelled == 1), "the upstream stream was not cancelled"
    assert wait_for(lambda: bool(gw.journal_rows(status="cancelled")))
    row = gw.journal_rows(status="cancelled")[0]
    assert row.partial_output and "word" in row.partial_output and row.dialect == dialect


def _fail_gateway(make_gateway) -> Gateway:  # type: ignore[no-untyped-def]
    return make_gateway(backends={"local": BreaksMidStream("local", models=[MODEL])})


def test_openai_mid_stream_failure(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = _fail_gateway(make_gateway)
    path, body = REQUESTS["openai"]
    r = httpx.post(gw.url + path, json=body)
    events = [e.removeprefix("data: ") for e in r.text.split("\n\n") if e]
    assert json.loads(events[-1])["error"]["message"].startswith("the upstream connection dropped")
    assert "[DONE]" not in events
    c = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIError, match="dropped"):
        list(c.chat.completions.create(model=MODEL, stream=True, messages=[{"role": "user", "content": "go"}]))
    assert gw.journal_rows(status="error")


def test_anthropic_mid_stream_failure(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = _fail_gateway(make_gateway)
    path, body = REQUESTS["anthropic"]
    r = httpx.post(gw.url + path, json=body)
    blocks = [b for b in r.text.split("\n\n") if b]
    assert blocks[-1].startswith("event: error\n") and "message_stop" not in r.text
    assert json.loads(blocks[-1].split("data: ", 1)[1])["error"]["type"] == "overloaded_error"
    c = anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=0)
    with (
        pytest.raises(anthropic.APIStatusError),
        c.messages.stream(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "go"}]) as s,
    ):
        s.get_final_message()


def test_ollama_mid_stream_failure(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = _fail_gateway(make_gateway)
    path, body = REQUESTS["ollama"]
    lines = httpx.post(gw.url + path, json=body).text.splitlines()
    assert json.loads(lines[0])["message"]["content"] == "partial "
    assert "dropped" in json.loads(lines[-1])["error"]
    with pytest.raises(ollama.ResponseError, match="dropped"):
        list(ollama.Client(host=gw.url).chat(model=MODEL, messages=[{"role": "user", "content": "go"}], stream=True))


@pytest.mark.parametrize("dialect", list(REQUESTS))
def test_failure_before_the_first_event_is_a_plain_error(make_gateway, dialect: str) -> None:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend("local", models=[MODEL])
    backend.add_error(BackendUnavailable("backend down", backend="local"))
    gw = make_gateway(backends={"local": backend})
    path, body = REQUESTS[dialect]
    r = httpx.post(gw.url + path, json=body)
    assert r.status_code == (529 if dialect == "anthropic" else 503)
    assert r.headers["content-type"] == "application/json"


def test_stream_headers(gw: Gateway) -> None:
    path, body = REQUESTS["anthropic"]
    r = httpx.post(gw.url + path, json=body)
    assert r.headers["content-type"] == "text/event-stream"
    assert f"model={MODEL}" in r.headers["x-offload-route"] and "x-offload-overhead-ms" in r.headers
