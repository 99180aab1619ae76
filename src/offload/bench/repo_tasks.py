"""The ``repo-tasks`` suite (multi-file tasks shipped in ``offload/data/bench/repo-tasks``) and the check
every suite's tasks must pass: the hidden tests FAIL on the starting files and PASS with the reference
solution. ``offload bench check`` runs it, so suite authors can trust their tasks before timing models."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from offload.bench.checker import TestRun, run_hidden_tests
from offload.bench.suites import BenchTask, Suite, builtin_suite_dir, load_suite_dir
from offload.bench.worktree import TaskRepos, write_files

__all__ = ["TaskCheck", "check_task", "repo_tasks_suite"]


def repo_tasks_suite() -> Suite:
    """The built-in multi-file suite."""
    return load_suite_dir(builtin_suite_dir("repo-tasks"), name="repo-tasks")


@dataclass(frozen=True)
class TaskCheck:
    """A task's hidden tests run on its starting files and on its reference solution."""

    task: BenchTask
    start: TestRun
    solved: TestRun | None

    @property
    def ok(self) -> bool:
        """Solvable and not solved already: fails at the start, passes with the reference solution."""
        return not self.start.passed and self.solved is not None and self.solved.passed

    def problem(self) -> str | None:
        """Why the task is not sound, or None."""
        if self.start.passed:
            return "the hidden tests already pass on the starting files"
        if self.solved is None:
            return "the task has no reference solution (solution/)"
        if not self.solved.passed:
            return "the hidden tests fail on the reference solution:\n" + self.solved.output[-2000:]
        return None


async def check_task(task: BenchTask, repos: TaskRepos) -> TaskCheck:
    """Run ``task``'s hidden tests in a fresh worktree, then again after laying its solution over it."""
    with repos.worktree(task, "check") as wt:
        start = await run_hidden_tests(wt, task)
        solved = None
        if task.solution:
            write_files(wt, task.solution)
            solved = await run_hidden_tests(wt, task)
    return TaskCheck(task, start, solved)


def default_check_dir() -> Path:
    """Where ``offload bench check`` keeps its task repositories (a cache under ``$OFFLOAD_HOME`` when set)."""
    home = os.environ.get("OFFLOAD_HOME")
    if home:
        return Path(home) / "bench-check"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("offload", appauthor=False)) / "bench-check"
