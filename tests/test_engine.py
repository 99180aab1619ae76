"""The engine: journal-before-dispatch, attempts, statuses, streaming cancel, queued when all down, redaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from offload.backends.scripted import ScriptedBackend
from offload.config import parse_config
from offload.engine import Engine, RequestContext
from offload.errors import BackendUnavailable, ContextOverflow, NoRouteAvailable, UnknownModel
from offload.routing.task import Task, VerifySpec
from offload.types import ChatRequest, StreamEnd, TextDelta

CANARY = "sk-CANARY-0123456789abcdef"


def make_engine(tmp_path: Path, *backends: ScriptedBackend, extra: dict | None = None) -> Engine:
    cfg = {
        "defaults": {"embedded": False},
        "backends": {b.name: {"kind": "scripted"} for b in backends},
        "models": [
            {
                "name": f"m-{b.name}",
                "backend": b.name,
                "roles": ["code", "fast", "chat", "review"],
                "vram_gb": float(i + 1),
                "context_window": 4096,
            }
            for i, b in enumerate(backends)
        ],
    }
    cfg.update(extra or {})
    return Engine(parse_config(cfg), backends={b.name: b for b in backends}, journal_path=tmp_path / "j.db")


async def test_row_is_committed_before_the_backend_is_called(tmp_path: Path) -> None:
    seen: list[str] = []

    def responder(req: ChatRequest) -> str:
        rows = engine.journal.list(status="pending")
        seen.extend(r.status for r in rows)
        return "hello"

    sb = ScriptedBackend("a", responder=responder)
    engine = make_engine(tmp_path, sb)
    resp = await engine.chat(ChatRequest.from_prompt("say hello"), RequestContext(source="test"))
    assert seen == ["pending"]
    entry = engine.journal.get(resp.journal_id)
    assert entry.status == "ok" and entry.model == "m-a" and len(entry.attempts) == 1
    await engine.aclose()


async def test_wrong_answer_escalates_and_repair_feedback_is_sent(tmp_path: Path) -> None:
    small = ScriptedBackend("small", ["def add(a, b):\n    return a - b"] * 3)
    big = ScriptedBackend("big", ["def add(a, b):\n    return a + b"])
    engine = make_engine(tmp_path, small, big)
    task = Task.from_prompt(
        "Write add(a, b).\n>>> add(2, 3)\n5\n", kind="code_generation", verify=VerifySpec(names=["add"])
    )
    resp = await engine.run(task)
    assert resp.content.strip().endswith("a + b")
    assert resp.verdict == "verified"
    statuses = [(a.model, a.verdict) for a in resp.attempts]
    assert ("m-small", "failed") in statuses and statuses[-1] == ("m-big", "verified")
    entry = engine.journal.get(resp.journal_id)
    assert entry.status == "ok" and [a.model for a in entry.attempts][-1] == "m-big"
    await engine.aclose()


async def test_all_down_is_queued_then_replayed(tmp_path: Path) -> None:
    from offload.replay import replay

    sb = ScriptedBackend("a", default="back again", healthy=False)
    engine = make_engine(tmp_path, sb)
    with pytest.raises(NoRouteAvailable):
        await engine.chat(ChatRequest.from_prompt("explain generators"))
    [entry] = engine.journal.list()
    assert entry.status == "queued"
    sb.healthy = True
    engine.board = type(engine.board).from_policy(engine.config.policy)  # breaker forgets (cooldown elapsed)
    [outcome] = await replay(engine, which="queued")
    assert outcome.ok and outcome.response is not None and outcome.response.content == "back again"
    assert engine.journal.get(outcome.new_id).replay_of == entry.id
    await engine.aclose()


async def test_unknown_model_is_typed_and_journaled(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ScriptedBackend("a", default="x"))
    with pytest.raises(UnknownModel) as ei:
        await engine.chat(ChatRequest.from_prompt("hi", model="gpt-17"))
    assert ei.value.hint
    [entry] = engine.journal.list()
    assert entry.status == "error" and entry.error and entry.error["code"] == "model_not_found"
    await engine.aclose()


async def test_prompt_larger_than_every_window(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ScriptedBackend("a", default="x"))
    with pytest.raises(ContextOverflow):
        await engine.chat(ChatRequest.from_prompt("word " * 40_000))
    assert engine.journal.list()[0].status == "error"
    await engine.aclose()


async def test_stream_cancel_marks_row_cancelled_with_partial(tmp_path: Path) -> None:
    sb = ScriptedBackend("a", chunk_size=2)
    sb.add("abcdefghijklmnopqrstuvwxyz" * 4, chunk_delay=0.01)
    engine = make_engine(tmp_path, sb)
    got = []
    agen = engine.stream(ChatRequest.from_prompt("stream please"))
    async for ev in agen:
        assert isinstance(ev, TextDelta)
        got.append(ev.text)
        if len(got) == 3:
            break
    await agen.aclose()
    await asyncio.sleep(0)
    [entry] = engine.journal.list()
    assert entry.status == "cancelled"
    assert entry.partial_output == "".join(got)
    assert sb.cancelled == 1
    await engine.aclose()


async def test_stream_fails_over_before_first_event(tmp_path: Path) -> None:
    a = ScriptedBackend("a", [BackendUnavailable("down", backend="a")])
    b = ScriptedBackend("b", ["from b"])
    engine = make_engine(tmp_path, a, b)
    events = [ev async for ev in engine.stream(ChatRequest.from_prompt("hi"))]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response.content == "from b" and end.response.backend == "b"
    entry = engine.journal.get(end.response.journal_id)
    assert [x.status for x in entry.attempts] == ["error", "ok"]
    await engine.aclose()


async def test_secrets_never_reach_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_KEY", CANARY)
    sb = ScriptedBackend("a", [BackendUnavailable(f"upstream said key {CANARY} is bad", backend="a")])
    cfg = parse_config(
        {
            "defaults": {"embedded": False},
            "backends": {
                "a": {"kind": "scripted"},
                "c": {"kind": "anthropic", "base_url": "http://127.0.0.1:9", "api_key_env": "CLOUD_KEY"},
            },
            "models": [{"name": "m", "backend": "a", "roles": ["chat", "fast", "code"]}],
        }
    )
    engine = Engine(cfg, backends={"a": sb}, journal_path=tmp_path / "j.db")
    ctx = RequestContext(source="gateway", headers={"authorization": f"Bearer {CANARY}", "x-api-key": CANARY})
    with pytest.raises(NoRouteAvailable):
        await engine.chat(ChatRequest.from_prompt(f"my key is {CANARY}, keep it"), ctx)
    await engine.aclose()
    for f in tmp_path.iterdir():
        assert CANARY.encode() not in f.read_bytes(), f.name


async def test_gateway_mode_answers_first_then_journals_in_order(tmp_path: Path) -> None:
    # await_outcome=False is how `offload serve` runs: the row is committed before the call, the attempt
    # and outcome are prepared after the answer and committed with the next write (or within the linger)
    sb = ScriptedBackend("a", ["hello"])
    cfg = parse_config(
        {
            "defaults": {"embedded": False},
            "backends": {"a": {"kind": "scripted"}},
            "models": [{"name": "m-a", "backend": "a", "roles": ["chat"], "context_window": 4096}],
        }
    )
    engine = Engine(cfg, backends={"a": sb}, journal_path=tmp_path / "j.db", await_outcome=False)
    engine.active_requests = 1  # alone in the gateway: the row is committed inline
    resp = await engine.chat(ChatRequest.from_prompt("say hello"), RequestContext(source="gateway"))
    # answered before the outcome is written: the row may still read "pending" here
    assert engine.journal.get(resp.journal_id).status in ("pending", "ok")
    await engine.drain()
    entry = engine.journal.get(resp.journal_id)
    assert entry.status == "ok" and [a.status for a in entry.attempts] == ["ok"]
    await engine.aclose()


async def test_gateway_mode_never_leaves_a_deferred_write_behind(tmp_path: Path) -> None:
    sb = ScriptedBackend("a", default="hi")
    cfg = parse_config(
        {
            "defaults": {"embedded": False},
            "backends": {"a": {"kind": "scripted"}},
            "models": [{"name": "m-a", "backend": "a", "roles": ["chat"], "context_window": 4096}],
        }
    )
    engine = Engine(cfg, backends={"a": sb}, journal_path=tmp_path / "j.db", await_outcome=False)
    ids = [
        (await engine.chat(ChatRequest.from_prompt(f"q{i}"), RequestContext(source="gateway"))).journal_id
        for i in range(20)
    ]
    await engine.aclose()  # drains: every outcome is durable once the engine is closed
    from offload.store import Journal

    with Journal(tmp_path / "j.db") as j:
        assert [j.get(i).status for i in ids] == ["ok"] * 20
