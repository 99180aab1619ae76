"""``offload bench run | report | list | check`` end to end, with a scripted backend from offload.toml."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from offload.cli import _root, bench_cmd
from offload.errors import ConfigError

from .helpers import GOOD, toy_suite, write_task


def app() -> typer.Typer:
    a = typer.Typer()
    a.callback()(_root)
    bench_cmd.register(a)
    return a


def setup_files(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"default": GOOD}))
    cfg = tmp_path / "offload.toml"
    cfg.write_text(f'[backends.sb]\nkind = "scripted"\nscript = "{script}"\n')
    profiles = []
    for name in ("first", "second"):
        p = tmp_path / f"{name}.toml"
        p.write_text(f'name = "{name}"\n[builder]\nbackend = "sb"\nmodel = "m-{name}"\n')
        profiles.append(p)
    toy_suite(tmp_path, ("a", "b", "c"))
    return cfg, tmp_path / "toy-suite", profiles


def test_run_then_report(tmp_path: Path):
    cfg, suite, (p1, p2) = setup_files(tmp_path)
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["-c", str(cfg), "bench", "run", "--suite", str(suite), "--profile", str(p1), "--profile", str(p2),
            "--out", str(out), "--limit", "2", "--max-iterations", "1", "--max-tokens", "64"]  # fmt: skip
    res = runner.invoke(app(), args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "4 case(s) run, 4 passed" in res.output and "offload bench report" in res.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["profile"], r["task_id"]) for r in rows] == [("first", "a"), ("first", "b"), ("second", "a"),
                                                            ("second", "b")]  # fmt: skip
    assert rows[0]["budget"]["max_iterations"] == 1 and rows[0]["models"]["builder"]["max_tokens"] == 64
    # the same command again refuses to overwrite; --resume runs only what is missing
    res = runner.invoke(app(), args)
    assert isinstance(res.exception, ConfigError)
    res = runner.invoke(app(), [*args[:-6], "--resume"])
    assert res.exit_code == 0 and "2 case(s) run" in res.output and "4 skipped" in res.output

    res = runner.invoke(app(), ["bench", "report", str(out), "--compare", "first", "second"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "McNemar exact p = 1" in res.output and "first" in res.output
    for name in ("report.html", "leaderboard.md", "pass_by_iteration.png", "failure_modes.png", "cost_vs_pass.png"):
        assert (out / "report" / name).is_file()
    res = runner.invoke(app(), ["bench", "report", str(out / "results.jsonl"), "--json", "--no-plots"])
    data = json.loads(res.output)
    assert {p["profile"]: p["solved"] for p in data["profiles"]} == {"first": 3, "second": 3}


def test_list(tmp_path: Path):
    res = CliRunner().invoke(app(), ["bench", "list"])
    assert res.exit_code == 0, res.output
    assert "humaneval" in res.output and "164" in res.output and "repo-tasks" in res.output
    assert "embedded" in res.output and "hybrid" in res.output
    res = CliRunner().invoke(app(), ["bench", "list", "--tasks", "repo-tasks"])
    assert res.exit_code == 0 and "rename-fetch-user" in res.output


def test_check(tmp_path: Path):
    good = tmp_path / "good"
    write_task(good, "t", solution={"calc.py": "def add(a, b):\n    return a + b\n"}, toml="timeout_s = 10\n")
    res = CliRunner().invoke(app(), ["bench", "check", "--suite", str(good)])
    assert res.exit_code == 0, res.output
    assert "1/1 task(s) sound" in res.output
    bad = tmp_path / "bad"
    write_task(bad, "t")
    res = CliRunner().invoke(app(), ["bench", "check", "--suite", str(bad)])
    assert res.exit_code == 1 and "no reference solution" in res.output


def test_unknown_suite_and_empty_selection(tmp_path: Path):
    res = CliRunner().invoke(app(), ["bench", "run", "--suite", "nope", "--profile", "embedded"])
    assert isinstance(res.exception, ConfigError) and "no suite named" in str(res.exception)
    res = CliRunner().invoke(app(), ["bench", "report", str(tmp_path / "missing")])
    assert res.exception is not None and "no results at" in str(res.exception)
