"""Leaderboard numbers from hand-made rows, and every report file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from offload.bench.leaderboard import compare, summarize
from offload.bench.report import write_report
from offload.bench.results import CaseResult, IterationRecord
from offload.errors import InvalidRequest


def row(task: str, profile: str, first_pass: int | None, *, reason: str | None = None, wall: float = 10.0,
        outcomes: list[str] | None = None, cloud: bool = False, cost: float = 0.0) -> CaseResult:  # fmt: skip
    outcomes = outcomes or (["failed"] * ((first_pass or 3) - 1) + (["passed"] if first_pass else ["failed"]))
    return CaseResult(
        suite="s",
        task_id=task,
        profile=profile,
        passed=first_pass is not None,
        terminal_reason=reason or ("passed" if first_pass else "max_iterations"),  # type: ignore[arg-type]
        iterations_used=len(outcomes),
        first_pass_iteration=first_pass,
        iterations=[IterationRecord(n=i + 1, outcome=o) for i, o in enumerate(outcomes)],  # type: ignore[arg-type]
        stage_seconds={"plan": 0.0, "build": wall / 2, "verify": 1.0},
        wall_seconds=wall,
        tokens_in=100,
        tokens_out=50,
        cost_usd=cost,
        cost_equiv_usd=0.01 if not cloud else cost,
        models={"builder": {"model": f"{profile}-model", "cloud": cloud, "context": 8192}},
        budget={"max_iterations": 3},
    )


ROWS = [
    # profile A: t1 at 1, t2 at 2, t3 at 3, t4 never (malformed twice then failed)
    row("t1", "A", 1), row("t2", "A", 2), row("t3", "A", 3),
    row("t4", "A", None, reason="malformed", outcomes=["malformed", "malformed"], wall=30.0),
    # profile B: only t4, at 1; t1..t3 fail
    row("t1", "B", None), row("t2", "B", None), row("t3", "B", None, reason="error", outcomes=["error"]),
    row("t4", "B", 1),
]  # fmt: skip


def test_summary_numbers():
    a, b = summarize(ROWS)
    assert (a.profile, b.profile) == ("A", "B")  # best pass rate first
    assert (a.cases, a.solved, a.pass_rate) == (4, 3, 0.75)
    assert a.pass_at == [0.25, 0.5, 0.75]
    assert a.pass_at_ci[0] == pytest.approx((0.0456, 0.6994), abs=1e-4)  # Wilson 1/4
    assert a.pass_ci == pytest.approx((0.3006, 0.9544), abs=1e-4)  # Wilson 3/4
    # iterations: t1 1 + t2 2 + t3 3 + t4 2 = 8, of which 2 malformed -> 6/8 well formed
    assert a.well_formed == 0.75 and a.malformed == 0
    assert a.seconds_per_case == pytest.approx((10 * 3 + 30) / 4) and a.median_seconds == 10.0
    assert a.tokens_per_solved == pytest.approx(4 * 150 / 3)
    assert a.cost_per_solved == pytest.approx(0.04 / 3) and a.cost_per_case == pytest.approx(0.01)
    assert a.terminal == {"passed": 3, "malformed": 1}
    assert a.outcomes == {"passed": 3, "failed": 3, "malformed": 2}
    assert b.terminal == {"passed": 1, "max_iterations": 2, "error": 1} and b.pass_at == [0.25, 0.25, 0.25]
    # tokens/s = output tokens / model seconds (plan + build): 4 * 50 / (4 * 5)
    assert b.tokens_per_s == pytest.approx(200 / 20)


def test_latest_row_per_case_wins():
    rerun = row("t3", "B", 1)  # the error case, run again with --resume
    b = next(s for s in summarize([*ROWS, rerun]) if s.profile == "B")
    assert b.solved == 2 and b.cases == 4


def test_compare():
    c = compare(ROWS, "A", "B")
    t = c.test
    assert (t.both, t.only_a, t.only_b, t.neither) == (0, 3, 1, 0)
    assert t.p_exact == pytest.approx(0.625)  # 2 * (1 + 4) / 16
    assert c.only_a == ["s/t1", "s/t2", "s/t3"] and c.only_b == ["s/t4"]
    with pytest.raises(InvalidRequest, match="no results for profile 'Z'"):
        compare(ROWS, "A", "Z")


def test_write_report_files(tmp_path: Path):
    cloud = [row(f"t{i}", "cloud", 1, cloud=True, cost=0.05) for i in range(1, 5)]
    rep = write_report([*ROWS, *cloud], tmp_path / "report", compare_profiles=("A", "B"))
    names = {"leaderboard.md", "leaderboard.json", "pass_by_iteration.png", "failure_modes.png", "cost_vs_pass.png",
             "report.html"}  # fmt: skip
    assert set(rep.files) == names
    for name in names:
        assert (tmp_path / "report" / name).stat().st_size > 0
    for png in ("pass_by_iteration.png", "failure_modes.png", "cost_vs_pass.png"):
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "report" / "leaderboard.md").read_text()
    assert "| s | A | A-model | 8192 | 4 | 3 (75.0%) | [30.1, 95.4] | 25.0% | 50.0% | 75.0% |" in md
    data = json.loads((tmp_path / "report" / "leaderboard.json").read_text())
    assert data["k"] == 3 and data["comparison"]["only_a"] == ["s/t1", "s/t2", "s/t3"]
    assert [p["profile"] for p in data["profiles"]] == ["cloud", "A", "B"]
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert not re.search(r"(src|href)=[\"']https?://", page)  # self-contained
    assert "McNemar exact p = 0.625" in page and "cloud-model" in page


def test_report_without_plots(tmp_path: Path):
    rep = write_report(ROWS, tmp_path / "r", plots=False)
    assert "report.html" in rep.files and "cost_vs_pass.png" not in rep.files
