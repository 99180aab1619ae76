"""A real run: a 10-problem HumanEval slice on the bundled embedded model, then every report file."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.bench.profiles import load_profile
from offload.bench.report import write_report
from offload.bench.results import read_results
from offload.bench.runner import BenchRunner
from offload.bench.suites import load_suite
from offload.config import parse_config
from offload.engine import Engine

pytestmark = [pytest.mark.inference, pytest.mark.slow]


@pytest.mark.timeout(1800)
async def test_humaneval_slice_on_the_embedded_model(tmp_path: Path):
    suite = load_suite("humaneval").limited(10)
    base = load_profile("embedded")
    budget = base.budget.model_copy(update={"max_iterations": 1, "stage_timeout_s": 240, "max_wall_time_s": 300})
    profile = base.model_copy(update={"budget": budget, "builder": base.builder.model_copy(update={"max_tokens": 128})})
    engine = Engine(parse_config({}), journal_path=tmp_path / "journal.db")
    out = tmp_path / "humaneval"
    try:
        summary = await BenchRunner(engine, suite, [profile], out).run()
        assert len(engine.journal.list(source="bench", limit=100)) == 10
    finally:
        await engine.aclose()
    rows = read_results([out])
    assert len(rows) == len(summary.rows) == 10
    for r in rows:
        assert r.terminal_reason != "error", r.error
        assert r.models["builder"]["backend_kind"] == "embedded" and r.models["builder"]["context"] == 8192
        assert r.iterations_used == 1 and r.tokens_out > 0
    rep = write_report(rows, out / "report")
    for name in ("leaderboard.md", "leaderboard.json", "pass_by_iteration.png", "failure_modes.png",
                 "cost_vs_pass.png", "report.html"):  # fmt: skip
        assert (out / "report" / name).stat().st_size > 0, name
    [s] = rep.summaries
    assert s.cases == 10 and s.profile == "embedded" and s.tokens_per_s
