"""Every shipped task is sound: its hidden tests FAIL on the starting files and PASS on its reference solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.bench.humaneval import humaneval_suite
from offload.bench.repo_tasks import check_task, repo_tasks_suite
from offload.bench.worktree import TaskRepos

REPO_TASKS = repo_tasks_suite().tasks


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> TaskRepos:
    return TaskRepos(tmp_path_factory.mktemp("bench-repos"))


@pytest.mark.parametrize("task", REPO_TASKS, ids=[t.id for t in REPO_TASKS])
async def test_repo_task_fails_on_start_and_passes_with_solution(task, repos: TaskRepos):
    check = await check_task(task, repos)
    assert not check.start.passed, f"{task.id}: hidden tests already pass on the starting files"
    assert check.start.tests_failed, f"{task.id}: nothing failed at the start:\n{check.start.output}"
    assert check.solved is not None and check.solved.passed, f"{task.id}:\n{check.solved and check.solved.output}"
    assert check.ok and check.problem() is None


@pytest.mark.parametrize("index", [0, 32, 163])
async def test_humaneval_tasks_are_sound(index: int, repos: TaskRepos):
    check = await check_task(humaneval_suite().tasks[index], repos)
    assert check.ok, check.problem()


async def test_check_reports_unsound_tasks(tmp_path: Path, repos: TaskRepos):
    from .helpers import toy_suite

    task = toy_suite(tmp_path).tasks[0]  # ships no solution
    check = await check_task(task, repos)
    assert not check.ok and "no reference solution" in (check.problem() or "")
