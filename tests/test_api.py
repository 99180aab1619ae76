"""The sync Python API: run, chat, stream (breaking out cancels and journals), async twins."""

from __future__ import annotations

from pathlib import Path

from offload import Offload, ScriptedBackend, StreamEnd, TextDelta
from offload.config import parse_config


def make(tmp_path: Path, sb: ScriptedBackend) -> Offload:
    cfg = parse_config({
        "defaults": {"embedded": False},
        "backends": {"s": {"kind": "scripted"}},
        "models": [{"name": "m", "backend": "s", "roles": ["chat", "code", "fast"]}],
    })  # fmt: skip
    return Offload(cfg, backends={"s": sb}, journal_path=tmp_path / "j.db")


def test_run_chat_and_stream(tmp_path: Path) -> None:
    sb = ScriptedBackend("s", default="hello there")
    with make(tmp_path, sb) as o:
        r = o.run("say hello")
        assert r.content == "hello there" and r.journal_id and r.usage.output_tokens > 0
        c = o.chat([{"role": "user", "content": "hi"}])
        assert c.content == "hello there"
        events = list(o.stream("hi"))
        assert isinstance(events[-1], StreamEnd)
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "hello there"
        assert {e.status for e in o.engine.journal.list()} == {"ok"}


def test_breaking_out_of_a_stream_cancels_and_journals(tmp_path: Path) -> None:
    sb = ScriptedBackend("s", chunk_size=1)
    sb.add("x" * 2000, chunk_delay=0.001)
    with make(tmp_path, sb) as o:
        for i, _ in enumerate(o.stream("long answer please")):
            if i == 5:
                break
        [entry] = o.engine.journal.list()
        assert entry.status == "cancelled" and entry.partial_output
        assert sb.cancelled == 1


async def test_async_twins(tmp_path: Path) -> None:
    sb = ScriptedBackend("s", default="async ok")
    o = make(tmp_path, sb)
    r = await o.arun("hi")
    assert r.content == "async ok"
    events = [e async for e in o.astream("hi")]
    assert isinstance(events[-1], StreamEnd)
    await o.aclose()
