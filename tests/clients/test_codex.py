"""Codex CLI itself through the gateway, configured exactly as ``offload serve`` prints it (slow: installs Codex
once with npm)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from offload.backends.scripted import ScriptedBackend
from offload.cli.serve import codex_config
from offload.config import parse_config
from offload.engine import Engine
from offload.server.app import create_app
from offload.types import ChatRequest, ChatResponse, StreamEnd, StreamEvent, TextDelta, ToolCall, ToolCallEvent, Usage
from tests.clients.conftest import client_env, npm_client, run
from tests.fakes.server import serve_app
from tests.server.conftest import MODEL, Gateway, base_config

pytestmark = [pytest.mark.sdk, pytest.mark.slow, pytest.mark.timeout(1800)]  # installs + a loaded machine

MARK = "offload-tool-ok"


@pytest.fixture(scope="module")
def codex() -> Path:
    return npm_client("codex", "@openai/codex", "codex")


def codex_home(tmp_path: Path, config: str) -> Path:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text(config)
    return home


def codex_exec(codex: Path, home: Path, prompt: str, *extra: str) -> Any:
    argv: list[str | Path] = [codex, "exec", "--skip-git-repo-check", *extra, prompt]
    return run(argv, client_env(home, OPENAI_API_KEY="dummy"), cwd=home.parent)


def shell_call(tools: list[Any]) -> ToolCall:
    """A call of whichever shell tool this Codex version offers, echoing :data:`MARK`."""
    names = {t.name for t in tools}
    if "exec_command" in names:
        name, args = "exec_command", {"cmd": f"echo {MARK}"}
    elif "shell_command" in names:
        name, args = "shell_command", {"command": f"echo {MARK}"}
    elif "shell" in names:
        name, args = "shell", {"command": ["bash", "-lc", f"echo {MARK}"]}
    else:
        pytest.fail(f"Codex offered no shell tool: {sorted(names)}")
    return ToolCall(id=f"call_{uuid.uuid4().hex[:8]}", name=name, arguments=args)


class RunsACommand(ScriptedBackend):
    """First asks Codex to run a shell command, then answers with what the command printed."""

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:  # type: ignore[override]
        self.requests.append(request)
        calls: list[ToolCall] = []
        if len(self.requests) == 1:
            calls = [shell_call(request.tools)]
            yield ToolCallEvent(call=calls[0])
            text = ""
        else:
            seen = " ".join(m.text_content for m in request.messages if m.role == "tool")
            text = f"The command printed {MARK}." if MARK in seen else "The command output never arrived."
            yield TextDelta(text=text)
        usage = Usage(input_tokens=100, output_tokens=10)
        finish = "tool_calls" if calls else "stop"
        yield StreamEnd(
            response=ChatResponse(
                model=request.model, content=text, tool_calls=calls, usage=usage, finish_reason=finish
            )
        )


def test_codex_tool_round_trip(codex: Path, tmp_path: Path, make_gateway: Callable[..., Gateway]) -> None:
    cfg = base_config()
    cfg["models"][0]["context_window"] = 200_000  # Codex's prompt is ~40 KB: no fitting here
    gw = make_gateway(config=cfg, backends={"local": RunsACommand("local", models=[MODEL])})
    home = codex_home(tmp_path, codex_config(gw.url + "/v1", model=MODEL))
    done = codex_exec(
        codex, home, "Run `echo offload-tool-ok` and tell me what it printed.", "-s", "danger-full-access"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"The command printed {MARK}." in done.stdout
    first, second = gw.local.requests
    assert first.stream and any(t.name == "exec_command" or "shell" in t.name for t in first.tools)
    assert not any(t.name == "web_search" for t in first.tools)  # hosted tools are dropped
    call = second.messages[-2].tool_calls[0]
    result = second.messages[-1]
    assert second.messages[-2].role == "assistant" and result.role == "tool" and result.tool_call_id == call.id
    assert MARK in result.text_content
    rows = gw.journal_rows()
    assert [(r.client, r.dialect, r.status) for r in rows] == [("codex", "responses", "ok")] * 2


class CountsWebSockets:
    """ASGI wrapper counting WebSocket handshakes before they reach the gateway."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.attempts = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            self.attempts += 1
        await self.app(scope, receive, send)


def test_codex_builtin_provider_falls_back_from_websocket_at_once(codex: Path, tmp_path: Path) -> None:
    """With the built-in provider, Codex opens a WebSocket first: one 426 and it streams over HTTP."""
    backend = ScriptedBackend("local", default="Hello from offload", models=[MODEL])
    engine = Engine(parse_config(base_config()), backends={"local": backend}, journal_path=tmp_path / "j.db")
    app = CountsWebSockets(create_app(engine))
    with serve_app(app) as url:
        home = codex_home(tmp_path, f'model = "{MODEL}"\nopenai_base_url = "{url}/v1"\n')
        started = time.monotonic()
        done = codex_exec(codex, home, "Say hello.")
        took = time.monotonic() - started
    engine.journal.close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Hello from offload" in done.stdout
    assert app.attempts == 1, f"Codex retried the WebSocket {app.attempts} times ({took:.1f} s)"


@pytest.mark.inference
def test_codex_plain_prompt_on_the_embedded_model(codex: Path, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="the embedded backend needs llama-cpp-python")
    # a 2k window keeps the fitted prompt (and CPU time on a small machine) small
    cfg = {
        "defaults": {"journal_path": str(tmp_path / "journal.db")},
        "backends": {"embedded": {"kind": "embedded", "n_ctx": 2048}},
    }
    engine = Engine(parse_config(cfg))
    with serve_app(create_app(engine)) as url:
        home = codex_home(tmp_path, codex_config(url + "/v1"))  # model "auto", as `offload serve` prints it
        done = codex_exec(codex, home, "Say hello in one short sentence.")
    rows = list(engine.journal.list())
    engine.journal.close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
    assert rows and all(r.client == "codex" and r.dialect == "responses" for r in rows)
    row = rows[0]
    assert row.status == "ok" and row.backend == "embedded"
    assert row.request["tools"] == [] and row.request["metadata"]["requested_model"] == "auto"  # fitted
