"""Training data export: verified pairs only, redacted, deduplicated, two formats, atomic, empty is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offload.errors import InvalidRequest
from offload.types import ChatRequest
from offload.workers.common import generate_json
from offload.workers.export import export_training_data
from tests.workers.conftest import Rig

SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
SECRET = "sk-ant-" + "a1b2c3d4e5f6g7h8i9j0"


async def fill(rig: Rig) -> None:
    rig.script(small=['{"x": 1}', '{"x": 2}', '{"x": 2}', "plain chat answer"])
    await generate_json(rig.engine, worker="t", kind="chat", prompt="first", schema=SCHEMA, sign=False)
    await generate_json(rig.engine, worker="t", kind="chat", prompt=f"second, key {SECRET}", schema=SCHEMA, sign=False)
    await generate_json(rig.engine, worker="t", kind="chat", prompt="first", schema=SCHEMA, sign=False)
    await rig.engine.chat(ChatRequest.from_prompt("hello"))  # nothing to verify: verdict not_run


async def test_verified_pairs_redacted_and_deduplicated(rig: Rig, tmp_path: Path) -> None:
    await fill(rig)
    out = tmp_path / "train.jsonl"
    result = export_training_data(rig.engine.journal, out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert result.written == 3 and result.skipped == 1
    assert [r["completion"] for r in rows] == ['{"x": 1}', '{"x": 2}', '{"x": 2}']
    assert rows[0]["prompt"] == "first"
    assert SECRET not in out.read_text() and "[REDACTED]" in rows[1]["prompt"]
    everything = export_training_data(rig.engine.journal, tmp_path / "all.jsonl", verified_only=False)
    assert everything.written == 4


async def test_identical_pairs_are_written_once(rig: Rig, tmp_path: Path) -> None:
    rig.script(small=['{"x": 1}', '{"x": 1}'])
    for _ in range(2):
        await generate_json(rig.engine, worker="t", kind="chat", prompt="same", schema=SCHEMA, sign=False)
    result = export_training_data(rig.engine.journal, tmp_path / "t.jsonl")
    assert result.written == 1 and result.skipped == 1


async def test_chat_format(rig: Rig, tmp_path: Path) -> None:
    await fill(rig)
    out = tmp_path / "chat.jsonl"
    export_training_data(rig.engine.journal, out, fmt="chat")
    first = json.loads(out.read_text().splitlines()[0])
    assert first["messages"] == [{"role": "user", "content": "first"}, {"role": "assistant", "content": '{"x": 1}'}]


def test_an_empty_export_writes_nothing(rig: Rig, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="no verified text answers"):
        export_training_data(rig.engine.journal, tmp_path / "t.jsonl")
    assert not (tmp_path / "t.jsonl").exists()
    with pytest.raises(InvalidRequest, match="unknown export format"):
        export_training_data(rig.engine.journal, tmp_path / "t.jsonl", fmt="csv")  # type: ignore[arg-type]
