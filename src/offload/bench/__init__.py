"""``offload bench``: how far do local models (or a planner + builder pair) get on real coding work?

Suites of task repositories (:mod:`~offload.bench.suites`, :mod:`~offload.bench.humaneval`), profiles of
models and budgets (:mod:`~offload.bench.profiles`), a runner that solves each task in its own git worktree
and verifies it with hidden tests in the sandbox (:mod:`~offload.bench.runner`), JSONL results
(:mod:`~offload.bench.results`) and a report with statistics (:mod:`~offload.bench.report`,
:mod:`~offload.bench.stats`). See ``docs/bench.md``.
"""

from __future__ import annotations

from offload.bench.profiles import Budget, Profile, RoleSpec, load_profile
from offload.bench.results import CaseResult, IterationRecord, ResultsFile, read_results
from offload.bench.runner import BenchRunner, RunSummary
from offload.bench.suites import BenchTask, Suite, load_suite

__all__ = [
    "BenchRunner",
    "BenchTask",
    "Budget",
    "CaseResult",
    "IterationRecord",
    "Profile",
    "ResultsFile",
    "RoleSpec",
    "RunSummary",
    "Suite",
    "load_profile",
    "load_suite",
    "read_results",
]
