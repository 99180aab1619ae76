"""The runner with scripted backends: budgets, every terminal reason, feedback, resume, isolation, journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offload.backends.base import Capabilities
from offload.backends.scripted import ScriptedBackend
from offload.bench.results import ResultsFile
from offload.bench.runner import BenchRunner
from offload.bench.suites import load_suite
from offload.errors import BackendUnavailable, ConfigError
from offload.types import ChatRequest

from .helpers import GOOD, LOOP, PROSE, SYNTAX, WRONG, engine, profile, toy_suite


async def run_one(tmp_path: Path, backend: ScriptedBackend, *, toml: str = "timeout_s = 10\n", **budget):
    suite = toy_suite(tmp_path, toml=toml)
    eng = engine(tmp_path, {"sb": backend})
    try:
        summary = await BenchRunner(eng, suite, [profile(**budget)], tmp_path / "out").run()
    finally:
        await eng.aclose()
    [row] = summary.rows
    return row


def prompt_of(req: ChatRequest) -> str:
    return req.messages[-1].text_content


async def test_passes_first_time(tmp_path: Path):
    sb = ScriptedBackend("sb", [GOOD])
    row = await run_one(tmp_path, sb)
    assert (row.passed, row.terminal_reason, row.iterations_used, row.first_pass_iteration) == (True, "passed", 1, 1)
    [it] = row.iterations
    assert it.outcome == "passed" and it.files_written == ["calc.py"] and it.tests_passed == 1
    assert row.tokens_in > 0 and row.tokens_out > 0 and row.tokens_per_s is not None
    assert row.stage_seconds["verify"] > 0 and row.wall_seconds >= row.stage_seconds["verify"]
    assert row.models["builder"]["model"] == "p-builder" and row.models["builder"]["backend"] == "sb"
    assert row.models["builder"]["max_tokens"] == 256 and row.budget["max_iterations"] == 3
    assert row.offload_version and row.cost_usd == 0.0 and row.cost_equiv_usd > 0  # priced at the reference model
    assert row.diff_file == "diffs/p/add.diff"
    assert "+    return a + b" in (tmp_path / "out" / row.diff_file).read_text()
    # the builder saw the task and the repository, never the hidden tests
    prompt = prompt_of(sb.requests[0])
    assert "Implement `add(a, b)`" in prompt and "calc.py" in prompt and "util.py" in prompt
    assert "assert add(2, 3) == 5" not in prompt and "gitdir:" not in prompt
    assert sb.requests[0].max_tokens == 256 and sb.requests[0].model == "p-builder"


async def test_feedback_then_pass(tmp_path: Path):
    sb = ScriptedBackend("sb", [WRONG, GOOD])
    row = await run_one(tmp_path, sb)
    assert row.passed and row.first_pass_iteration == 2
    assert [i.outcome for i in row.iterations] == ["failed", "passed"]
    assert row.iterations[0].tests_failed == 1
    second = prompt_of(sb.requests[1])
    assert "The tests failed" in second and "AssertionError" in second
    assert "return a - b" in second  # the repository as it is now, with the first attempt's code


async def test_max_iterations(tmp_path: Path):
    row = await run_one(tmp_path, ScriptedBackend("sb", default=WRONG), max_iterations=2)
    assert (row.passed, row.terminal_reason, row.iterations_used, row.failures) == (False, "max_iterations", 2, 0)
    assert row.first_pass_iteration is None


async def test_malformed_answers(tmp_path: Path):
    sb = ScriptedBackend("sb", default=PROSE)
    row = await run_one(tmp_path, sb, max_iterations=2)
    assert row.terminal_reason == "malformed" and row.malformed == 2 and row.well_formed_iterations == 0
    assert "no file I could use" in prompt_of(sb.requests[1])


async def test_max_failures_with_syntax_errors(tmp_path: Path):
    sb = ScriptedBackend("sb", [PROSE, SYNTAX, GOOD])
    row = await run_one(tmp_path, sb, max_iterations=5, max_failures=2)
    assert row.terminal_reason == "max_failures" and row.iterations_used == 2
    assert (row.malformed, row.syntax_errors, row.failures) == (1, 1, 2)
    assert row.iterations[1].detail.startswith("calc.py:1:")


async def test_syntax_error_feedback(tmp_path: Path):
    sb = ScriptedBackend("sb", [SYNTAX, GOOD])
    row = await run_one(tmp_path, sb)
    assert row.passed and "does not compile" in prompt_of(sb.requests[1])


async def test_test_timeout_counts_as_failure(tmp_path: Path):
    sb = ScriptedBackend("sb", [LOOP, GOOD])
    row = await run_one(tmp_path, sb, toml="timeout_s = 1\n", max_iterations=3, max_failures=1)
    assert row.terminal_reason == "max_failures" and row.test_timeouts == 1
    assert row.iterations[0].outcome == "test_timeout"


async def test_stage_timeout(tmp_path: Path):
    sb = ScriptedBackend("sb")
    sb.add(GOOD, delay=5)
    row = await run_one(tmp_path, sb, stage_timeout_s=0.2)
    assert row.terminal_reason == "stage_timeout" and row.iterations[0].outcome == "stage_timeout"
    assert not row.passed


async def test_wall_time(tmp_path: Path):
    sb = ScriptedBackend("sb")
    sb.add(GOOD, delay=5)
    row = await run_one(tmp_path, sb, max_wall_time_s=0.3)
    assert row.terminal_reason == "wall_time" and row.wall_seconds < 5


async def test_backend_error(tmp_path: Path):
    sb = ScriptedBackend("sb", [BackendUnavailable("connection refused", backend="sb")])
    row = await run_one(tmp_path, sb)
    assert row.terminal_reason == "error" and "connection refused" in (row.error or "")


async def test_hybrid_plans_then_builds(tmp_path: Path):
    planner = ScriptedBackend("pl", default="1. In calc.py, return a + b.")
    builder = ScriptedBackend("sb", [GOOD])
    suite = toy_suite(tmp_path)
    eng = engine(tmp_path, {"sb": builder, "pl": planner})
    summary = await BenchRunner(eng, suite, [profile("h", planner="pl")], tmp_path / "out").run()
    await eng.aclose()
    [row] = summary.rows
    assert row.passed and row.profile_kind == "hybrid" and set(row.models) == {"planner", "builder"}
    assert "Write the plan" in prompt_of(planner.requests[0])
    assert "# Plan to follow\n\n1. In calc.py, return a + b." in prompt_of(builder.requests[0])
    assert row.stage_seconds["plan"] > 0 and len(row.journal_ids) == 2


async def test_calls_are_journaled_as_bench(tmp_path: Path):
    sb = ScriptedBackend("sb", [GOOD])
    suite = toy_suite(tmp_path)
    eng = engine(tmp_path, {"sb": sb})
    summary = await BenchRunner(eng, suite, [profile()], tmp_path / "out").run()
    [entry] = eng.journal.list(source="bench")
    assert entry.id == summary.rows[0].journal_ids[0]
    assert (entry.status, entry.kind, entry.backend, entry.model) == ("ok", "bench.builder", "sb", "p-builder")
    assert entry.usage is not None and entry.usage.output_tokens > 0
    await eng.aclose()


async def test_resume_skips_finished_rows_and_reruns_errors(tmp_path: Path):
    suite = toy_suite(tmp_path, ("a", "b", "c"))
    out = tmp_path / "out"
    sb = ScriptedBackend("sb", [GOOD, WRONG, WRONG, WRONG, BackendUnavailable("down", backend="sb")])
    eng = engine(tmp_path, {"sb": sb})
    first = await BenchRunner(eng, suite, [profile()], out).run()
    assert [r.terminal_reason for r in first.rows] == ["passed", "max_iterations", "error"]
    with pytest.raises(ConfigError, match="--resume"):
        BenchRunner(eng, suite, [profile()], out).plan()
    sb.add(GOOD)
    second = await BenchRunner(eng, suite, [profile()], out, resume=True).run()
    assert second.skipped == 2 and [(r.task_id, r.terminal_reason) for r in second.rows] == [("c", "passed")]
    # a line cut short by a crash is ignored; the latest row per case wins
    with open(out / "results.jsonl", "a") as fh:
        fh.write('{"suite": "toy-suite", "task_id": "a", "prof')
    rows = ResultsFile(out / "results.jsonl").rows()
    assert len(rows) == 4
    assert ResultsFile(out / "results.jsonl").finished_keys() == {("toy-suite", t, "p") for t in "abc"}
    third = await BenchRunner(eng, suite, [profile()], out, resume=True).run()
    assert third.rows == [] and third.skipped == 3
    runs = json.loads((out / "run.json").read_text())["runs"]
    assert [r["resumed"] for r in runs] == [False, True, True] and runs[0]["suite"] == "toy-suite"
    await eng.aclose()


async def test_profiles_run_in_turn_with_their_models_loaded(tmp_path: Path):
    events: list[str] = []

    class Residency(ScriptedBackend):
        def __init__(self, name: str) -> None:
            super().__init__(name, responder=self.answer)
            self.capabilities = Capabilities(keep_alive=True)

        def answer(self, req: ChatRequest) -> str:
            events.append(f"chat {req.model} keep_alive={req.options.get('keep_alive')}")
            return GOOD

        async def load(self, model: str, keep_alive: str | int | None = None) -> None:
            events.append(f"load {model} {keep_alive}")

        async def unload(self, model: str) -> None:
            events.append(f"unload {model}")

    suite = toy_suite(tmp_path, ("a", "b"))
    eng = engine(tmp_path, {"sb": Residency("sb")})
    await BenchRunner(eng, suite, [profile("one"), profile("two")], tmp_path / "out").run()
    await eng.aclose()
    assert events == [
        "load one-builder 30m", "chat one-builder keep_alive=30m", "chat one-builder keep_alive=30m",
        "unload one-builder",
        "load two-builder 30m", "chat two-builder keep_alive=30m", "chat two-builder keep_alive=30m",
        "unload two-builder",
    ]  # fmt: skip


async def test_no_leaks_between_tasks_and_profiles(tmp_path: Path):
    seen: list[str] = []
    leaky = "leak.txt\n```text\nsecret from a run\n```\n" + GOOD

    def respond(req: ChatRequest) -> str:
        seen.append(prompt_of(req))
        return leaky

    suite = toy_suite(tmp_path, ("a", "b"))
    eng = engine(tmp_path, {"sb": ScriptedBackend("sb", responder=respond)})
    summary = await BenchRunner(eng, suite, [profile("one"), profile("two")], tmp_path / "out").run()
    await eng.aclose()
    assert all(r.passed for r in summary.rows) and len(seen) == 4
    assert all("secret from a run" not in p and "leak.txt" not in p for p in seen)
    assert all(r.iterations[0].files_written == ["leak.txt", "calc.py"] for r in summary.rows)
    assert not any((tmp_path / "out" / ".work" / "worktrees").rglob("leak.txt"))


async def test_profile_errors_are_caught_before_running(tmp_path: Path):
    suite = toy_suite(tmp_path)
    eng = engine(tmp_path, {"sb": ScriptedBackend("sb", [GOOD])})
    with pytest.raises(ConfigError, match="no backend named 'nope'"):
        await BenchRunner(eng, suite, [profile("ok"), profile("bad", backend="nope")], tmp_path / "out").run()
    with pytest.raises(ConfigError, match="share a name"):
        BenchRunner(eng, suite, [profile("x"), profile("x")], tmp_path / "out")
    assert not (tmp_path / "out" / "results.jsonl").exists()
    await eng.aclose()


async def test_relative_out_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    sb = ScriptedBackend("sb", [GOOD])
    suite = toy_suite(tmp_path)
    eng = engine(tmp_path, {"sb": sb})
    summary = await BenchRunner(eng, suite, [profile()], Path("rel") / "out").run()
    await eng.aclose()
    assert summary.rows[0].passed and (tmp_path / "rel" / "out" / "results.jsonl").is_file()
    assert "raise NotImplementedError" in prompt_of(sb.requests[0])  # the model saw the repository


async def test_humaneval_task_with_a_bare_code_block(tmp_path: Path):
    suite = load_suite("humaneval").limited(1)
    body = suite.tasks[0].solution["solution.py"].split("\n\n\n", 1)[1]  # the function alone, without its import
    assert "import" not in body
    sb = ScriptedBackend("sb", [f"Here is my solution:\n```python\n{body}```\nIt loops over all pairs."])
    eng = engine(tmp_path, {"sb": sb})
    summary = await BenchRunner(eng, suite, [profile()], tmp_path / "out").run()
    await eng.aclose()
    [row] = summary.rows
    assert row.passed, row.iterations  # the code went to solution.py and its import was kept
    prompt = prompt_of(sb.requests[0])
    assert "def has_close_elements" in prompt and "solution.py\n```python\n<the complete new content" in prompt
