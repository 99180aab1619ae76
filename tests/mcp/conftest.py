"""Shared MCP test setup: a config with a scripted local backend and a fake Ollama, a scripted responder, and
checks of structured results against the tools' output schemas."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp_types import CallToolResult, TextContent

from offload.backends.scripted import ScriptedBackend
from offload.config import Config, load_config
from offload.engine import Engine
from offload.types import ChatRequest
from tests.fakes.ollama import FakeModel, FakeOllama, sample_for_schema
from tests.fakes.server import serve_app

ADD_CODE = "```python\ndef add(a, b):\n    return a + b\n```"
REVIEW = "Line 2: `a / b` fails when b == 0 — guard it and raise ValueError."


def respond(request: ChatRequest) -> str:
    """What a well-behaved local model answers to each kind of MCP tool request."""
    fmt = request.response_format
    if fmt.type == "json_schema" and fmt.json_schema:
        return json.dumps(sample_for_schema(fmt.json_schema))
    text = request.all_text()
    if text.startswith("Review"):
        return REVIEW
    if "add(" in text:
        return ADD_CODE
    return "Hello from the local model."


def write_config(tmp_path: Path, ollama_url: str | None = None, answers: dict[str, Any] | None = None) -> Path:
    """An offload.toml with a scripted local backend (and an Ollama backend when a URL is given)."""
    script = tmp_path / "answers.json"
    script.write_text(json.dumps(answers or {"default": "Hello from the local model.", "models": ["local-coder"]}))
    text = f"""
[defaults]
embedded = false
journal_path = "{tmp_path / "journal.db"}"

[backends.local]
kind = "scripted"
script = "{script}"

[[models]]
name = "local-coder"
backend = "local"
vram_gb = 5.0
roles = ["code", "chat", "fast", "review", "large"]
capabilities = ["tools", "json"]
"""
    if ollama_url:
        text += f"""
[backends.ollama]
kind = "ollama"
base_url = "{ollama_url}"
max_retries = 0

[[models]]
name = "llama3.2"
backend = "ollama"
vram_gb = 2.5
roles = ["reason"]  # a role no default rule routes to: chat and code go to the scripted model
required = false

[[models]]
name = "coder-7b"
backend = "ollama"
backend_model = "qwen2.5-coder:7b"
vram_gb = 5.5
roles = ["reason"]
required = false
"""
    path = tmp_path / "offload.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def fake_ollama() -> Iterator[tuple[FakeOllama, str]]:
    fake = FakeOllama()
    fake.add_pullable(FakeModel("qwen2.5-coder:7b", size=40_000, layers=(30_000, 10_000)))
    with serve_app(fake.app) as url:
        yield fake, url


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, fake_ollama: tuple[FakeOllama, str]) -> Config:
    return load_config(write_config(tmp_path_factory.mktemp("mcp"), fake_ollama[1]))


@pytest.fixture(scope="module")
def scripted() -> ScriptedBackend:
    return ScriptedBackend("local", responder=respond, models=["local-coder"])


@pytest.fixture(scope="module")
def engine(config: Config, scripted: ScriptedBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    e = Engine(config, backends={"local": scripted}, journal_path=tmp_path_factory.mktemp("j") / "journal.db")
    yield e
    asyncio.run(e.aclose())


def conforms(result: CallToolResult, output_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The structured content of a successful result, checked against the tool's output schema (jsonschema),
    and against the JSON text block the SDK adds for clients that predate structured content."""
    assert not result.is_error, result.content
    assert output_schema is not None and output_schema["type"] == "object"
    data = result.structured_content
    assert isinstance(data, dict)
    jsonschema.validators.validator_for(output_schema)(output_schema).validate(data)
    [block] = result.content
    assert isinstance(block, TextContent) and json.loads(block.text) == data
    return data


def error_body(result: CallToolResult) -> dict[str, Any]:
    """The ``error`` object of an error result: ``isError`` set, the JSON in the text, no structured content."""
    assert result.is_error
    assert result.structured_content is None  # it would not conform to the output schema
    [block] = result.content
    assert isinstance(block, TextContent)
    data = json.loads(block.text)
    assert set(data) == {"error"} and data["error"]["code"] and data["error"]["message"]
    return data["error"]  # type: ignore[no-any-return]
