"""Bench result sets for the dashboard: find them on disk, summarise them, and locate (or write) their reports.

A result set is a directory holding ``results.jsonl`` (what ``offload bench run`` writes, by default under
``./bench/results/<suite>``); its report is ``<dir>/report/report.html`` (``offload bench report``). The
roots searched are ``$OFFLOAD_BENCH_RESULTS`` (``os.pathsep``-separated) when set, else ``./bench/results``.
A set is addressed by an id derived from its place under a root; ids are looked up among the sets found,
never joined onto a path, so no request can name a file outside the roots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offload.errors import InvalidRequest

ENV_VAR = "OFFLOAD_BENCH_RESULTS"
MAX_DEPTH = 3
REPORT = Path("report") / "report.html"


def default_roots() -> list[Path]:
    """``$OFFLOAD_BENCH_RESULTS`` (path list) or ``./bench/results``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path.cwd() / "bench" / "results"]


@dataclass(frozen=True)
class ResultSet:
    """One directory of bench results."""

    id: str
    path: Path
    root: Path

    @property
    def results(self) -> Path:
        return self.path / "results.jsonl"

    @property
    def report(self) -> Path | None:
        p = self.path / REPORT
        return p if p.is_file() else None


class UnknownResultSet(InvalidRequest):
    code = "not_found"
    http_status = 404


def find_sets(roots: list[Path]) -> list[ResultSet]:
    """Every result set under ``roots`` (depth ≤ 3), newest results first."""
    found: list[ResultSet] = []
    for n, root in enumerate(roots):
        if not root.is_dir():
            continue
        base = root.resolve()
        for dirpath, dirnames, filenames in os.walk(base):
            here = Path(dirpath)
            depth = len(here.relative_to(base).parts)
            if depth >= MAX_DEPTH:
                dirnames[:] = []
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("worktrees", "diffs", "report")]
            if "results.jsonl" in filenames:
                rel = here.relative_to(base).as_posix()
                sid = (f"{n}:" if len(roots) > 1 else "") + (rel if rel != "." else root.name)
                found.append(ResultSet(sid, here, base))
    found.sort(key=lambda s: -_mtime(s.results))
    return found


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def lookup(roots: list[Path], set_id: str) -> ResultSet:
    """The set with id ``set_id`` (:class:`UnknownResultSet` when there is none)."""
    for s in find_sets(roots):
        if s.id == set_id:
            return s
    raise UnknownResultSet(f"no bench result set {set_id!r}", hint="reload the Bench page to see the sets found")


def describe(s: ResultSet) -> dict[str, Any]:
    """What the Bench page lists for a set: suites, profiles, pass counts per profile, its report."""
    from offload.bench.results import latest_rows, read_results

    try:
        rows = latest_rows(read_results([s.results]))
    except OSError as exc:
        return {"id": s.id, "path": str(s.path), "error": f"cannot read {s.results.name}: {exc.strerror}"}
    profiles: dict[str, dict[str, Any]] = {}
    for r in rows:
        p = profiles.setdefault(r.profile, {"profile": r.profile, "cases": 0, "passed": 0, "cost_usd": 0.0})
        p["cases"] += 1
        p["passed"] += int(r.passed)
        p["cost_usd"] += r.cost_usd
    for p in profiles.values():
        p["pass_rate"] = p["passed"] / p["cases"] if p["cases"] else 0.0
    report = s.report
    return {
        "id": s.id,
        "path": str(s.path),
        "suites": sorted({r.suite for r in rows}),
        "cases": len(rows),
        "passed": sum(int(r.passed) for r in rows),
        "profiles": sorted(profiles.values(), key=lambda p: -p["pass_rate"]),
        "modified_at": _mtime(s.results),
        "report": report is not None,
        "report_modified_at": _mtime(report) if report else None,
    }


def write_set_report(s: ResultSet) -> Path:
    """(Re)write the set's report (plots when matplotlib is installed); returns the HTML file."""
    from offload.bench.report import write_report
    from offload.bench.results import read_results

    rows = read_results([s.results])
    if not rows:
        raise InvalidRequest(f"{s.results} holds no results yet", hint="let `offload bench run` finish a case first")
    try:
        import matplotlib  # noqa: F401

        plots = True
    except ImportError:
        plots = False
    files = write_report(rows, s.path / "report", plots=plots).files
    return files["report.html"]
