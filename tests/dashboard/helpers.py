"""A dashboard under test: a gateway on a real port with scripted local and cloud backends, a fake Ollama,
a journal seeded with a few days of history, and a bench result set."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offload.backends.scripted import ScriptedBackend
from offload.bench.results import CaseResult, IterationRecord, ResultsFile
from offload.config import parse_config
from offload.dashboard import Dashboard
from offload.engine import Engine, RequestContext
from offload.errors import OffloadError, UpstreamHTTPError
from offload.routing.task import Task
from offload.server.app import create_app
from offload.types import ChatRequest, ResponseFormat
from tests.fakes.ollama import FakeOllama
from tests.fakes.server import serve_app

LOCAL = "local-model"
CLOUD = "claude-sonnet-4-5"
CODER = "coder"  # qwen2.5-coder:7b: in the fake registry, not installed
ADD_PROMPT = 'Complete this Python function.\n\ndef add(a, b):\n    """Return the sum of a and b.\n\n    >>> add(2, 3)\n    5\n    """\n'
ADD_CODE = "Here it is:\n\n```python\ndef add(a, b):\n    # the sum\n    return a + b\n```\n"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


def answer(req: ChatRequest) -> str:
    """The scripted models' answers: code for code prompts, JSON for JSON requests, a sentence otherwise."""
    text = req.messages[-1].text_content if req.messages else ""
    if req.response_format.type != "text":
        return '{"name": "Ada", "age": 36}'
    if "Python function" in text:
        return ADD_CODE
    return "Hello from offload. Local models answer the cheap, private work; the cloud gets the rest."


def config(fake_url: str, **server: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "defaults": {"embedded": False, "vram_budget_gb": 12},
        "backends": {
            "local": {"kind": "scripted"},
            "ollama": {"kind": "ollama", "base_url": fake_url, "max_retries": 0},
            "cloud": {"kind": "scripted", "cloud": True},
        },
        "models": [
            {"name": LOCAL, "backend": "local", "roles": ["chat", "code", "fast"], "capabilities": ["json", "tools"],
             "description": "scripted test model"},
            {"name": "llama3.2", "backend": "ollama", "vram_gb": 2.5, "roles": ["chat"], "context_window": 131072},
            {"name": CODER, "backend": "ollama", "backend_model": "qwen2.5-coder:7b", "vram_gb": 5.5,
             "roles": ["code"], "context_window": 32768, "quantization": "Q4_K_M"},
            {"name": CLOUD, "backend": "cloud", "roles": ["cloud", "large"], "price_in": 3.0, "price_out": 15.0},
        ],
    }  # fmt: skip
    if server:
        cfg["server"] = server
    return cfg


@dataclass
class Env:
    """A running dashboard and everything behind it."""

    url: str
    engine: Engine
    local: ScriptedBackend
    cloud: ScriptedBackend
    fake: FakeOllama
    bench_dir: Path
    failed_id: str

    @property
    def ui(self) -> str:
        return f"{self.url}/ui/"


async def _seed(engine: Engine, local: ScriptedBackend) -> str:
    """A few days of mixed traffic; returns the id of a failed request."""
    ctx = RequestContext(source="gateway", dialect="openai", client="openai-python")
    for i in range(6):
        await engine.chat(ChatRequest.from_prompt(f"Summarise note {i} in one line.", model=LOCAL), ctx)
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    fmt = ResponseFormat(type="json_schema", json_schema=schema)
    for i in range(8):
        req = ChatRequest.from_prompt(f"Make a test fixture person #{i} as JSON.", model=LOCAL, response_format=fmt)
        await engine.run(Task(request=req, kind="fixtures"), RequestContext(source="mcp", client="claude-code"))
    for _ in range(2):
        await engine.run(Task.from_prompt(ADD_PROMPT, model=LOCAL, kind="code_generation"), ctx)
    cloud_ctx = RequestContext(source="gateway", dialect="anthropic", client="claude-code")
    for i in range(3):
        await engine.chat(
            ChatRequest.from_prompt(f"Explain the trade-offs of event sourcing, take {i}.", model=CLOUD), cloud_ctx
        )
    local.add_error(UpstreamHTTPError("the model rejected the request", status=400, backend="local"))
    try:
        await engine.chat(ChatRequest.from_prompt("Translate good night into French.", model=LOCAL), ctx)
    except OffloadError:
        pass
    failed = engine.journal.list(status="error", limit=1)
    return failed[0].id


def _backdate(db: Path) -> None:
    """Spread the seeded rows over the last six days (the journal API always stamps 'now')."""
    conn = sqlite3.connect(db)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM requests WHERE status = 'ok' ORDER BY created_at")]
        for n, rid in enumerate(ids[:-4]):
            shift = (1 + n % 6) * 86400.0
            conn.execute("UPDATE requests SET created_at = created_at - ?, updated_at = updated_at - ?, "
                         "finished_at = finished_at - ? WHERE id = ?", (shift, shift, shift, rid))  # fmt: skip
            conn.execute("UPDATE attempts SET created_at = created_at - ? WHERE request_id = ?", (shift, rid))
        conn.commit()
    finally:
        conn.close()


def _bench(root: Path) -> Path:
    """One result set with two profiles (no report yet)."""
    out = root / "humaneval"
    rf = ResultsFile(out / "results.jsonl")
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    for profile, solved in (("qwen2.5-coder-7b", (0, 1, 2, 4)), ("embedded", (1,))):
        for i in range(5):
            ok = i in solved
            rf.append(
                CaseResult(
                    suite="humaneval", task_id=f"HumanEval/{i}", profile=profile, passed=ok,
                    terminal_reason="passed" if ok else "max_iterations", iterations_used=1 if ok else 3,
                    first_pass_iteration=1 if ok else None,
                    iterations=[IterationRecord(n=1, outcome="passed" if ok else "failed", tokens_in=300, tokens_out=120)],
                    tokens_in=300, tokens_out=120, wall_seconds=4.2, started_at=now, finished_at=now,
                )
            )  # fmt: skip
    return root


@contextmanager
def running_dashboard(tmp: Path, **server: Any) -> Iterator[Env]:
    """Start the fake Ollama and the gateway (with the dashboard at /ui); seed the journal first."""
    with ExitStack() as stack:
        fake = FakeOllama()
        fake_url = stack.enter_context(serve_app(fake.app))
        cfg = parse_config(config(fake_url, **server))
        local = ScriptedBackend("local", responder=answer, models=[LOCAL])
        cloud = ScriptedBackend("cloud", responder=answer, models=[CLOUD], cloud=True)
        db = tmp / "journal.db"
        seed_engine = Engine(cfg, backends={"local": local, "cloud": cloud}, journal_path=db)
        with ThreadPoolExecutor(1) as pool:  # a thread of its own: Playwright's sync API may own this one's loop
            failed_id = pool.submit(asyncio.run, _seed(seed_engine, local)).result()
        seed_engine.journal.close()
        _backdate(db)
        engine = Engine(cfg, backends={"local": local, "cloud": cloud}, journal_path=db)
        stack.callback(engine.journal.close)  # after the server below has stopped

        app = create_app(engine)
        dash: Dashboard = app.app.dashboard
        dash.bench_root_override = [_bench(tmp / "bench")]
        url = stack.enter_context(serve_app(app))
        yield Env(url, engine, local, cloud, fake, tmp / "bench", failed_id)
