"""Fixtures: schema and count checks, per-record validation and regeneration, uniqueness, resume, seeds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import validate

from offload.errors import InvalidRequest, NoRouteAvailable
from offload.types import ChatRequest
from offload.workers.fixtures import generate_fixtures
from offload.workers.provenance_check import verify_target
from tests.workers.conftest import Rig

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"email": {"type": "string", "pattern": "^[a-z0-9]+@example\\.com$"},
                   "age": {"type": "integer", "minimum": 18, "maximum": 90}},
    "required": ["email", "age"], "additionalProperties": False, "x-unique": ["email"],
}  # fmt: skip


def batch_size_of(req: ChatRequest) -> int:
    schema = req.response_format.json_schema or {}
    return int(schema["properties"]["records"]["minItems"])


def counting_responder(start: int = 0, seed_from_request: bool = False) -> Any:
    """Answers each batch with fresh, valid users (numbered; with seeds: numbered by the request's seed)."""
    state = {"next": start}

    def respond(req: ChatRequest) -> str:
        n = batch_size_of(req)
        base = req.seed * 10 if seed_from_request and req.seed is not None else state["next"]
        state["next"] += n
        return json.dumps({"records": [{"email": f"u{base + i}@example.com", "age": 20 + i} for i in range(n)]})

    return respond


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


async def test_batches_fill_the_file_with_valid_unique_records(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "users.jsonl"
    seen: list[tuple[int, int]] = []
    rig.respond(counting_responder())
    result = await generate_fixtures(
        rig.engine, SCHEMA, 25, out, batch_size=10, on_progress=lambda d, t: seen.append((d, t))
    )
    records = lines(out)
    assert len(records) == 25 == result.total and result.batches == 3
    for r in records:
        validate(r, {k: v for k, v in SCHEMA.items() if k != "x-unique"})
    assert len({r["email"] for r in records}) == 25
    assert seen[0] == (0, 25) and seen[-1] == (25, 25) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    sent = rig.small.requests[0].response_format.json_schema
    assert sent is not None and "x-unique" not in json.dumps(sent)  # offload's keyword is not sent upstream
    assert [batch_size_of(r) for r in rig.small.requests] == [10, 10, 5]
    assert verify_target(str(out), journal=rig.engine.journal).ok


async def test_invalid_and_duplicate_records_are_dropped_and_regenerated(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "users.jsonl"
    mixed = {"records": [{"email": "a@example.com", "age": 30}, {"email": "BAD", "age": 30},
                         {"email": "a@example.com", "age": 40}, {"email": "b@example.com", "age": 7}]}  # fmt: skip
    rig.script(small=[json.dumps(mixed)])
    rig.respond(counting_responder())
    result = await generate_fixtures(rig.engine, SCHEMA, 4, out, batch_size=4)
    assert len(lines(out)) == 4 and result.invalid == 2 and result.duplicates == 1
    assert lines(out)[0] == {"email": "a@example.com", "age": 30}
    assert batch_size_of(rig.small.requests[1]) == 3


async def test_a_batch_with_nothing_usable_is_repaired_then_escalated(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "users.jsonl"
    bad = json.dumps({"records": [{"email": "NOPE", "age": 1}]})
    rig.script(small=[bad, "{records: oops"], big=[json.dumps({"records": [{"email": "x@example.com", "age": 33}]})])
    result = await generate_fixtures(rig.engine, SCHEMA, 1, out, batch_size=1)
    assert lines(out) == [{"email": "x@example.com", "age": 33}]
    assert result.batches == 1
    assert "No record was usable" in rig.small.requests[1].messages[-1].text_content


async def test_resume_continues_an_existing_file(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "users.jsonl"
    out.write_text("".join(json.dumps({"email": f"old{i}@example.com", "age": 50}) + "\n" for i in range(4)))
    rig.respond(counting_responder())
    result = await generate_fixtures(rig.engine, SCHEMA, 10, out, batch_size=5)
    assert result.existing == 4 and result.written == 6 and len(lines(out)) == 10
    assert [batch_size_of(r) for r in rig.small.requests] == [5, 1]
    again = await generate_fixtures(rig.engine, SCHEMA, 10, out, batch_size=5)
    assert again.written == 0 and again.batches == 0


async def test_resume_refuses_a_file_with_a_bad_line(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "users.jsonl"
    out.write_text('{"email": "a@example.com", "age": 30}\n{"email": "a@example.com", "age": 31}\n')
    with pytest.raises(InvalidRequest, match=r"users.jsonl:2 .*repeats"):
        await generate_fixtures(rig.engine, SCHEMA, 5, out)
    out.write_text('{"email": "a@example.com", "age": 30}\nnot json\n')
    with pytest.raises(InvalidRequest, match=r"users.jsonl:2 is not a JSON record"):
        await generate_fixtures(rig.engine, SCHEMA, 5, out)
    assert rig.small.requests == []


async def test_a_failure_midway_keeps_only_complete_batches(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "users.jsonl"
    rig.script(small=[json.dumps({"records": [{"email": f"u{i}@example.com", "age": 30} for i in range(3)]})])
    with pytest.raises(NoRouteAvailable) as err:
        await generate_fixtures(rig.engine, SCHEMA, 6, out, batch_size=3)  # the scripts run dry after batch 1
    assert len(lines(out)) == 3
    assert "rerun the same command to resume" in (err.value.hint or "")
    assert not list(tmp_path.glob(".users.jsonl.*")) and not (tmp_path / "users.jsonl.lock").exists()


async def test_seed_makes_runs_repeatable(rig_factory: Any, tmp_path: Path) -> None:
    files, seeds = [], []
    for name in ("a.jsonl", "b.jsonl"):
        r = rig_factory()
        r.respond(counting_responder(seed_from_request=True))
        await generate_fixtures(r.engine, SCHEMA, 6, tmp_path / name, batch_size=3, seed=42)
        files.append((tmp_path / name).read_text())
        seeds.append([req.seed for req in r.small.requests])
    assert files[0] == files[1] and seeds[0] == seeds[1] and len(set(seeds[0])) == 2


@pytest.mark.parametrize("count", [0, -3])
async def test_count_must_be_positive(rig: Rig, tmp_path: Path, count: int) -> None:
    with pytest.raises(InvalidRequest, match="positive integer"):
        await generate_fixtures(rig.engine, SCHEMA, count, tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "objekt"}, "not valid JSON Schema"),
        ([1, 2], "expected an object"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "x-unique": ["b"]}, "unique key 'b'"),
    ],
)
async def test_bad_schemas_are_clear_errors(rig: Rig, tmp_path: Path, schema: Any, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        await generate_fixtures(rig.engine, schema, 3, tmp_path / "x.jsonl")
    assert fragment in str(err.value)
    assert not (tmp_path / "x.jsonl").exists() and rig.small.requests == []


async def test_unique_space_exhausted_stops_with_a_clear_error(rig: Rig, tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"flag": {"type": "boolean"}}, "required": ["flag"]}
    rig.respond(lambda req: json.dumps({"records": [{"flag": True}, {"flag": False}][: batch_size_of(req)]}))
    with pytest.raises(Exception) as err:
        await generate_fixtures(rig.engine, schema, 3, tmp_path / "f.jsonl", batch_size=2, unique=["flag"])
    assert re.search(r"only 2 of 3|no candidate", str(err.value))
    assert len(lines(tmp_path / "f.jsonl")) == 2


async def test_a_batch_nobody_could_fix_is_replaced_by_a_fresh_one(rig: Rig, tmp_path: Path) -> None:
    calls = {"n": 0}
    good = counting_responder()

    def respond(req: ChatRequest) -> str:
        calls["n"] += 1
        return json.dumps({"records": [{"email": "BAD", "age": 1}]}) if calls["n"] <= 2 else good(req)

    rig.respond(respond)
    rig.respond(lambda req: json.dumps({"records": [{"email": "ALSO BAD", "age": 1}]}), big=True)
    result = await generate_fixtures(rig.engine, SCHEMA, 2, tmp_path / "u.jsonl", batch_size=2)
    assert result.rejected_batches == 1 and result.total == 2 and len(lines(tmp_path / "u.jsonl")) == 2
