"""Modelfiles: rendering with checked parameters, parsing, and creating a model over Ollama's /api/create.

The fake follows Ollama's documented ``POST /api/create`` (docs/api.md): a JSON body with ``model``, ``from``,
``system``, ``parameters``...; a stream of ``{"status": ...}`` lines ending in ``{"status": "success"}``;
``{"error": "..."}`` bodies for failures.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from offload.backends.ollama import OllamaBackend
from offload.config import parse_config
from offload.engine import Engine
from offload.errors import InvalidRequest, UnknownModel, UpstreamHTTPError
from offload.workers.modelfile import create_model, parse_modelfile, render_modelfile


class FakeCreate:
    def __init__(self) -> None:
        self.installed = {"llama3.2:latest"}
        self.bodies: list[dict[str, Any]] = []
        self.fail_with: str | None = None
        self.app = Starlette(routes=[Route("/api/create", self.create, methods=["POST"])])

    async def create(self, request: Request) -> Response:
        body = await request.json()
        self.bodies.append(body)
        base = body.get("from", "")
        if (base if ":" in base else base + ":latest") not in self.installed:
            return JSONResponse({"error": f"model '{base}' not found"}, status_code=404)

        async def lines() -> AsyncIterator[bytes]:
            yield b'{"status":"using existing layer sha256:4f6"}\n'
            if self.fail_with:
                yield json.dumps({"error": self.fail_with}).encode() + b"\n"
                return
            yield b'{"status":"writing manifest"}\n'
            yield b'{"status":"success"}\n'
            self.installed.add(body["model"] if ":" in body["model"] else body["model"] + ":latest")

        return StreamingResponse(lines(), media_type="application/x-ndjson")


def engine_with(fake: FakeCreate, tmp_path: Path) -> Engine:
    cfg = parse_config({"defaults": {"embedded": False, "journal_path": str(tmp_path / "j.db")},
                        "backends": {"ollama": {"kind": "ollama", "base_url": "http://ollama.test", "max_retries": 0}},
                        "models": [{"name": "llama3.2", "backend": "ollama", "roles": ["chat"]}]})  # fmt: skip
    backend = OllamaBackend(cfg.backends["ollama"], transport=httpx.ASGITransport(app=fake.app))
    return Engine(cfg, backends={"ollama": backend})


def test_render_checks_parameters() -> None:
    text = render_modelfile("llama3.2", system='Be terse.\nAnswer in "English".',
                            params=["temperature=0.2", "num_ctx=8192", "stop=<|end|>", "use_mmap=true"])  # fmt: skip
    assert text.splitlines()[:5] == ["FROM llama3.2", "PARAMETER temperature 0.2", "PARAMETER num_ctx 8192",
                                     'PARAMETER stop "<|end|>"', "PARAMETER use_mmap true"]  # fmt: skip
    assert text.endswith('SYSTEM """Be terse.\nAnswer in "English"."""\n')
    mf = parse_modelfile(text)
    assert mf.base == "llama3.2" and mf.system == 'Be terse.\nAnswer in "English".'
    assert mf.parameters == {"temperature": 0.2, "num_ctx": 8192, "stop": ["<|end|>"], "use_mmap": True}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (["temprature=0.2"], "did you mean 'temperature'"),
        (["mirostat_eta=0.1"], "not a Modelfile parameter"),
        (["num_ctx=big"], "needs a int value"),
        (["temperature"], "not key=value"),
        (["use_mmap=yes"], "needs a bool value"),
    ],
)
def test_bad_parameters_are_clear_errors(params: list[str], fragment: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        render_modelfile("llama3.2", params=params)
    assert fragment in str(err.value)


def test_parse_errors_name_the_line() -> None:
    with pytest.raises(InvalidRequest, match="line 2: unknown instruction 'FORM'"):
        parse_modelfile("FROM a\nFORM b\n")
    with pytest.raises(InvalidRequest, match="no FROM line"):
        parse_modelfile("# only a comment\nSYSTEM hi\n")
    with pytest.raises(InvalidRequest, match="never closed"):
        parse_modelfile('FROM a\nSYSTEM """open\nstill open\n')
    with pytest.raises(InvalidRequest, match="cannot hold"):
        render_modelfile("a", system='has """ inside')


async def test_create_sends_ollama_create_and_follows_the_stream(tmp_path: Path) -> None:
    fake = FakeCreate()
    engine = engine_with(fake, tmp_path)
    text = render_modelfile("llama3.2", system="You review code.", params=["temperature=0.1", "stop=END"])
    steps: list[str] = []
    assert await create_model(engine, "reviewer", text, on_status=steps.append) == "success"
    assert fake.bodies == [{"model": "reviewer", "from": "llama3.2", "stream": True, "system": "You review code.",
                            "parameters": {"temperature": 0.1, "stop": ["END"]}}]  # fmt: skip
    assert steps[-1] == "success" and "reviewer:latest" in fake.installed
    await engine.aclose()


async def test_create_errors(tmp_path: Path) -> None:
    fake = FakeCreate()
    engine = engine_with(fake, tmp_path)
    with pytest.raises(UnknownModel, match="base model .mistral. is not on backend"):
        await create_model(engine, "x", "FROM mistral\n")
    fake.fail_with = "invalid parameter"
    with pytest.raises(UpstreamHTTPError, match="invalid parameter"):
        await create_model(engine, "x", "FROM llama3.2\n")
    with pytest.raises(InvalidRequest, match="not a valid model name"):
        await create_model(engine, "bad name!", "FROM llama3.2\n")
    with pytest.raises(InvalidRequest, match="local file"):
        await create_model(engine, "x", "FROM ./weights.gguf\n")
    await engine.aclose()


def test_create_needs_an_ollama_backend(rig: Any) -> None:
    with pytest.raises(InvalidRequest, match="no Ollama backend"):
        asyncio.run(create_model(rig.engine, "x", "FROM llama3.2\n"))
