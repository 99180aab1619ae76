"""Workers on the bundled SmolLM2-135M (real inference, marked ``inference``): kept small, as the model is tiny.

Fixtures: the schema becomes a llama.cpp grammar, so even the 135M model writes valid records. Builder: the
model is too small to be relied on for code, so the test pins the contract instead — a verified suggestion
whose tests pass, or a typed error with nothing written; never a placeholder.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import validate

from offload.config import parse_config
from offload.engine import Engine
from offload.errors import NoRouteAvailable, VerificationFailed
from offload.workers.builder import build, load_task
from offload.workers.builder_checks import placeholder_problem
from offload.workers.fixtures import generate_fixtures

pytestmark = pytest.mark.inference

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 2, "maxLength": 20},
                   "age": {"type": "integer", "minimum": 18, "maximum": 90}},
    "required": ["name", "age"], "additionalProperties": False,
}  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    tmp = tmp_path_factory.mktemp("embedded")
    cfg = parse_config({
        "defaults": {"journal_path": str(tmp / "journal.db")},
        # one thread: llama.cpp threads spinning on a shared core crawl when the machine is busy
        "backends": {"embedded": {"kind": "embedded", "n_ctx": 2048, "n_threads": 1}},
        "policy": {"rules": [{"kinds": ["code_generation", "fixtures"],
                              "candidates": [{"role": "code", "max_attempts": 1}]}]},
    })  # fmt: skip
    e = Engine(cfg)
    yield e
    asyncio.run(e.aclose())


async def test_fixtures_batch_on_the_embedded_model(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "people.jsonl"
    result = await generate_fixtures(engine, SCHEMA, 2, out, batch_size=2, seed=3)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2 == result.total
    for r in records:
        validate(r, SCHEMA)
    assert result.provenance is not None


async def test_builder_on_the_embedded_model_is_verified_or_fails_cleanly(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "mathx.py").write_text('"""Math helpers."""\n')
    (tmp_path / "task.json").write_text(json.dumps({
        "task_id": "square", "objective": "Add a function square(n) to mathx.py that returns n * n.",
        "files": ["mathx.py"], "acceptance": ["square(3) == 9"], "constraints": {"loc_max": 8},
    }))  # fmt: skip
    task = load_task(tmp_path / "task.json", tmp_path)
    try:
        result = await build(engine, task, max_tokens=320)
    except (NoRouteAvailable, VerificationFailed):
        assert (tmp_path / "mathx.py").read_text() == '"""Math helpers."""\n'  # nothing written
        assert sorted(p.name for p in tmp_path.iterdir()) == ["mathx.py", "task.json"]
        return
    assert result.generation.response.verdict == "verified"
    assert placeholder_problem(result.suggestion.suggested_code) is None
    assert "square" in result.suggestion.suggested_code
