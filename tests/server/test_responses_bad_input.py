"""Bad input on ``POST /v1/responses`` -> the right 4xx in the OpenAI error shape (never a 5xx, never a stream)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from offload.backends.scripted import ScriptedBackend
from offload.config import parse_config
from offload.engine import Engine
from offload.server.app import create_app
from tests.fakes.server import serve_app
from tests.server.conftest import MODEL, Gateway, base_config

GOOD: dict[str, Any] = {"model": MODEL, "input": "hi"}

CASES: dict[str, tuple[Any, int, str]] = {
    "empty body": (b"", 400, "empty"),
    "invalid json": (b'{"model": "x", "input": [', 400, "not valid JSON"),
    "array body": (b"[1, 2]", 400, "JSON object"),
    "no model": ({"input": "hi"}, 400, "model"),
    "unknown model": ({**GOOD, "model": "no-such-model"}, 404, "no-such-model"),
    "no input": ({"model": MODEL}, 400, "input"),
    "empty string input": ({**GOOD, "input": ""}, 400, "input"),
    "empty input list": ({**GOOD, "input": []}, 400, "at least one item"),
    "input is a number": ({**GOOD, "input": 42}, 400, "input"),
    "item is a string": ({**GOOD, "input": ["hi"]}, 400, "input[0]"),
    "unknown item type": ({**GOOD, "input": [{"type": "hologram", "data": "x"}]}, 400, "unknown input item type"),
    "item without type or role": ({**GOOD, "input": [{"content": "hi"}]}, 400, "input[0].type"),
    "message without content": ({**GOOD, "input": [{"type": "message", "role": "user"}]}, 400, "content"),
    "bad role": ({**GOOD, "input": [{"role": "wizard", "content": "hi"}]}, 400, "role"),
    "unknown content part": (
        {**GOOD, "input": [{"role": "user", "content": [{"type": "input_hologram"}]}]},
        400,
        "content part",
    ),
    "content part not an object": ({**GOOD, "input": [{"role": "user", "content": ["hi"]}]}, 400, "content[0]"),
    "function_call without call_id": (
        {**GOOD, "input": [{"role": "user", "content": "hi"}, {"type": "function_call", "name": "f"}]},
        400,
        "call_id",
    ),
    "function_call_output without output": (
        {**GOOD, "input": [{"role": "user", "content": "hi"}, {"type": "function_call_output", "call_id": "c"}]},
        400,
        "output",
    ),
    "only developer messages": ({**GOOD, "input": [{"role": "developer", "content": "rules"}]}, 400, "user message"),
    "item_reference": ({**GOOD, "input": [{"type": "item_reference", "id": "msg_1"}]}, 400, "stores no responses"),
    "previous_response_id": ({**GOOD, "previous_response_id": "resp_1"}, 400, "stores no responses"),
    "file input": (
        {**GOOD, "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}]},
        400,
        "input_file",
    ),
    "tool without type": ({**GOOD, "tools": [{"name": "f"}]}, 400, "tools[0].type"),
    "bad tool name": ({**GOOD, "tools": [{"type": "function", "name": "no spaces!"}]}, 400, "tool names"),
    "bad tool_choice": ({**GOOD, "tool_choice": 7}, 400, "tool_choice"),
    "max_output_tokens 0": ({**GOOD, "max_output_tokens": 0}, 400, "max_output_tokens"),
    "temperature 5": ({**GOOD, "temperature": 5}, 400, "temperature"),
    "bad text format": ({**GOOD, "text": {"format": {"type": "xml"}}}, 400, "text.format"),
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway for the whole matrix (no case may reach its backend)."""
    backend = ScriptedBackend("local", default="Hello from offload", models=[MODEL])
    engine = Engine(
        parse_config(base_config()), backends={"local": backend}, journal_path=tmp_path_factory.mktemp("j") / "j.db"
    )
    with serve_app(create_app(engine)) as url:
        yield Gateway(url=url, engine=engine, backends={"local": backend})
    engine.journal.close()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_4xx_in_the_openai_shape(shared: Gateway, case: str, stream: bool) -> None:
    gw = shared
    body, status, needle = CASES[case]
    if isinstance(body, dict):
        body = {**body, "stream": stream}
        r = httpx.post(gw.url + "/v1/responses", json=body, timeout=10)
    else:
        r = httpx.post(gw.url + "/v1/responses", content=body, headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["type"] == "invalid_request_error"
    assert needle in err["message"] and "Traceback" not in r.text
    assert not gw.local.requests  # nothing reached the backend


def test_hosted_tools_alone_are_never_an_error(gw: Gateway) -> None:
    body = {**GOOD, "tools": [{"type": "web_search"}, {"type": "image_generation"}], "tool_choice": "required"}
    r = httpx.post(gw.url + "/v1/responses", json=body, timeout=10)
    assert r.status_code == 200 and r.json()["output"][0]["content"][0]["text"] == "Hello from offload"
    assert gw.local.requests[-1].tools == [] and gw.local.requests[-1].tool_choice is None


def test_wrong_content_type_is_415(gw: Gateway) -> None:
    r = httpx.post(gw.url + "/v1/responses", content=b"input=hi", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
