"""The worker commands end to end on a scripted backend: output, files written (or not), exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from offload.errors import InvalidRequest, OffloadError, UnsupportedContent
from tests.workers.cli_app import app
from tests.workers.conftest import write_config
from tests.workers.test_builder import GOOD_CODE, ORIGINAL, answer

runner = CliRunner()
USER = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "textutil.py").write_text(ORIGINAL)
    (tmp_path / "task.json").write_text(json.dumps({"task_id": "add-double", "objective": "Add double(n).",
                                                    "files": ["textutil.py"], "acceptance": ["double(3) == 6"]}))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(tmp_path: Path, args: list[str], answers: list[str] = (), default: str | None = None) -> Any:  # type: ignore[assignment]
    (tmp_path / "answers.json").write_text(json.dumps({"answers": list(answers), "default": default}))
    return runner.invoke(app, ["--config", str(write_config(tmp_path)), *args])


def test_build_shows_a_verified_diff_and_writes_nothing(project: Path) -> None:
    res = run(project, ["build", "task.json"], [answer()])
    assert res.exit_code == 0, res.output
    assert "+def double(n):" in res.output and "verdict verified" in res.output
    assert (project / "textutil.py").read_text() == ORIGINAL and not (project / "add-double.patch").exists()


def test_build_apply_writes_a_signed_patch_then_apply_yes_changes_the_file(project: Path) -> None:
    res = run(project, ["build", "task.json", "--apply"], [answer()])
    assert res.exit_code == 0, res.output
    patch = project / "add-double.patch"
    assert patch.read_text().startswith("--- a/textutil.py") and (project / "textutil.py").read_text() == ORIGINAL
    assert run(project, ["verify", str(patch)]).exit_code == 0
    res = run(project, ["build", "task.json", "--apply", "--yes"], [answer()])
    assert res.exit_code == 0 and (project / "textutil.py").read_text() == GOOD_CODE


def test_build_failure_is_a_clear_error_and_writes_nothing(project: Path) -> None:
    stub = answer(code=ORIGINAL + "\ndef double(n):\n    pass\n")
    res = run(project, ["build", "task.json", "--apply", "--yes"], [stub, stub])
    assert isinstance(res.exception, OffloadError)
    assert "no model produced a verified suggestion for task add-double; nothing was written" in str(res.exception)
    assert "attempts" in res.output and res.output.count("rejected") == 2  # the attempts table
    assert (project / "textutil.py").read_text() == ORIGINAL and not (project / "add-double.patch").exists()


def test_yes_needs_apply(project: Path) -> None:
    assert isinstance(run(project, ["build", "task.json", "--yes"]).exception, InvalidRequest)


def test_fixtures_command(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(USER))
    records = json.dumps({"records": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]})
    out = tmp_path / "u.jsonl"
    res = run(tmp_path, ["fixtures", "--schema", str(tmp_path / "s.json"), "--count", "2", "--out", str(out),
                         "--unique", "id", "--json"], [records])  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["records"] == 2 and summary["provenance"] and len(out.read_text().splitlines()) == 2
    out.write_text(out.read_text().replace('"a"', '"z"'))
    res = run(tmp_path, ["verify", str(out)])
    assert res.exit_code == 1 and "FAIL" in res.output and "does not match the record" in res.output


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--count", "-5"], "--count must be at least 1"),
        (["--count", "3", "--bad-schema"], "not valid JSON Schema"),
        (["--count", "3", "--missing-schema"], "does not exist"),
    ],
)
def test_fixtures_bad_input(tmp_path: Path, args: list[str], error: str) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "nonsense"} if "--bad-schema" in args else USER))
    if "--missing-schema" in args:
        schema = tmp_path / "missing.json"
    args = [a for a in args if not a.startswith("--bad") and not a.startswith("--missing")]
    res = run(tmp_path, ["fixtures", "--schema", str(schema), "--out", str(tmp_path / "o.jsonl"), *args])
    assert isinstance(res.exception, InvalidRequest) and error in str(res.exception)
    assert not (tmp_path / "o.jsonl").exists()


def test_mock_command_prints_the_body(tmp_path: Path) -> None:
    body = {"id": 42, "name": "Ada"}
    res = run(tmp_path, ["mock", "GET /api/users/42"], [json.dumps({"status": 200, "body": body})])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == body


def test_review_and_vision_bad_input(tmp_path: Path) -> None:
    assert isinstance(run(tmp_path, ["review"]).exception, InvalidRequest)
    assert "does not exist" in str(run(tmp_path, ["review", "nope.py"]).exception)
    (tmp_path / "x.png").write_text("plain text")
    assert isinstance(run(tmp_path, ["vision", str(tmp_path / "x.png")]).exception, UnsupportedContent)


def test_memory_commands(tmp_path: Path) -> None:
    assert run(tmp_path, ["remember", "the cache is redis on port 6379", "--embed-model", "hash"]).exit_code == 0
    assert run(tmp_path, ["remember", "deploys happen on tuesday", "--embed-model", "hash"]).exit_code == 0
    res = run(tmp_path, ["recall", "redis port", "-k", "1", "--json", "--embed-model", "hash"])
    assert json.loads(res.output)[0]["text"] == "the cache is redis on port 6379"
    assert run(tmp_path, ["forget", "1"]).exit_code == 0
    assert isinstance(run(tmp_path, ["forget", "1"]).exception, InvalidRequest)
    assert isinstance(run(tmp_path, ["remember"]).exception, InvalidRequest)


def test_modelfile_and_export_commands(tmp_path: Path) -> None:
    sysfile = tmp_path / "system.txt"
    sysfile.write_text("You are terse.")
    out = tmp_path / "Modelfile"
    res = run(tmp_path, ["modelfile", "--from", "llama3.2", "--system", str(sysfile), "--param", "temperature=0.3",
                         "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0 and out.read_text().startswith("FROM llama3.2\nPARAMETER temperature 0.3\n")
    res = run(tmp_path, ["modelfile", "--from", "llama3.2", "--param", "temp=1", "--out", str(tmp_path / "M2")])
    assert isinstance(res.exception, InvalidRequest) and not (tmp_path / "M2").exists()
    assert isinstance(run(tmp_path, ["export", "--out", str(tmp_path / "t.jsonl")]).exception, InvalidRequest)
    assert not (tmp_path / "t.jsonl").exists()
