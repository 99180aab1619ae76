"""Real inference through the verified cascade: the embedded model writes a simple function and the examples
verifier accepts it; a wrong answer from a scripted backend is rejected and the task escalates."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.backends.scripted import ScriptedBackend
from offload.config import parse_config
from offload.engine import Engine
from offload.routing.task import Task

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.inference

PROMPT = '''Complete this Python function.

def add(a, b):
    """Return the sum of a and b.
    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """
'''


def config(tmp_path: Path) -> Engine:
    cfg = parse_config({
        "backends": {"embedded": {"kind": "embedded", "n_ctx": 2048, "n_threads": 1}, "wrong": {"kind": "scripted"}},
        "models": [
            {"name": "wrong-model", "backend": "wrong", "vram_gb": 0.1, "roles": ["code", "fast"]},
            {"name": "smol", "backend": "embedded", "vram_gb": 0.5, "context_window": 2048, "roles": ["code", "fast"]},
        ],
    })  # fmt: skip
    wrong = ScriptedBackend("wrong", default="def add(a, b):\n    return a - b\n")
    return Engine(cfg, backends={"wrong": wrong}, journal_path=tmp_path / "journal.db")


async def test_wrong_answer_escalates_to_the_embedded_model_which_is_verified(tmp_path: Path) -> None:
    engine = config(tmp_path)
    task = Task.from_prompt(PROMPT, kind="code_generation", temperature=0.0, max_tokens=160)
    resp = await engine.run(task)
    try:
        assert [a.model for a in resp.attempts][0] == "wrong-model"
        assert resp.attempts[0].verdict == "failed"
        assert resp.model == "smol" and resp.verdict == "verified", resp.attempts
        assert "def add" in resp.content
        entry = engine.journal.get(resp.journal_id)
        assert entry.status == "ok" and entry.verdict == "verified" and entry.local is True
        assert entry.avoided_usd and entry.avoided_usd > 0
    finally:
        await engine.aclose()
