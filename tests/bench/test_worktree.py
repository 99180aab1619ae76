"""Task repositories and worktrees: every run starts from the task's own files, and nothing leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.bench.suites import load_suite_dir
from offload.bench.worktree import TaskRepos, write_files
from offload.errors import SandboxError

from .helpers import toy_suite, write_task


def test_worktrees_are_fresh_and_removed(tmp_path: Path):
    suite = toy_suite(tmp_path, ("one", "two"))
    repos = TaskRepos(tmp_path / "work")
    one, two = suite.tasks
    with repos.worktree(one, "p") as wt1:
        assert sorted(p.name for p in wt1.iterdir() if p.name != ".git") == ["calc.py", "util.py"]
        write_files(wt1, {"leak.txt": "secret", "calc.py": "changed"})
        with repos.worktree(one, "p") as again:  # a second run of the same task, same profile
            assert not (again / "leak.txt").exists() and (again / "calc.py").read_text().startswith("def add")
        with repos.worktree(two, "p") as wt2:  # another task
            assert not (wt2 / "leak.txt").exists()
        diff = TaskRepos.diff(wt1)
        assert "+secret" in diff and "-def add(a, b):" in diff
    assert not wt1.exists() and not wt2.exists() and not again.exists()
    assert not any((tmp_path / "work" / "worktrees" / "p").iterdir())
    # the hidden tests are never part of a task's repository
    repo = repos.repo_for(one)
    assert not list(repo.rglob("test_calc.py"))


def test_repository_is_rebuilt_when_the_task_changes(tmp_path: Path):
    suite_dir = tmp_path / "s"
    write_task(suite_dir, "t")
    repos = TaskRepos(tmp_path / "work")
    first = repos.repo_for(load_suite_dir(suite_dir).tasks[0])
    assert repos.repo_for(load_suite_dir(suite_dir).tasks[0]) == first  # cached
    (suite_dir / "t" / "files" / "calc.py").write_text("def add(a, b):\n    return 0\n")
    second = repos.repo_for(load_suite_dir(suite_dir).tasks[0])
    assert second != first
    with repos.worktree(load_suite_dir(suite_dir).tasks[0], "p") as wt:
        assert "return 0" in (wt / "calc.py").read_text()


def test_setup_script_runs_once_before_the_first_commit(tmp_path: Path):
    suite_dir = tmp_path / "s"
    d = write_task(suite_dir, "t")
    (d / "setup.sh").write_text("mkdir -p data\necho 'a,b' > data/table.csv\n")
    task = load_suite_dir(suite_dir).tasks[0]
    repos = TaskRepos(tmp_path / "work")
    with repos.worktree(task, "p") as wt:
        assert (wt / "data" / "table.csv").read_text() == "a,b\n"
        assert TaskRepos.diff(wt) == ""  # generated files are part of the starting commit
    (d / "setup.sh").write_text("echo broken >&2\nexit 3\n")
    with pytest.raises(SandboxError, match="setup.sh of task 't' failed"):
        repos.repo_for(load_suite_dir(suite_dir).tasks[0])


def test_write_files_refuses_escapes(tmp_path: Path):
    for bad in ("../x.py", "/abs.py", ".git/config"):
        with pytest.raises(SandboxError):
            write_files(tmp_path, {bad: "x"})
    assert write_files(tmp_path, {"a/b.py": "x"}) == ["a/b.py"]
