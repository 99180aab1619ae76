"""One git repository per task, one fresh worktree per run: a run never sees another run's files.

The first time a task is used, :class:`TaskRepos` writes its starting files into ``<root>/repos/<suite>/<id>``,
runs its ``setup.sh`` there (no network where the OS allows it), and commits the result. Every run then
gets ``git worktree add --detach`` of that commit in its own directory, removed when the run ends. A task
whose files change gets a new repository (the directory name carries the task's fingerprint).

These git repositories are the bench's own (in its cache directory); nothing here touches the user's
repositories.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from offload.bench.suites import BenchTask
from offload.errors import SandboxError

__all__ = ["TaskRepos", "git", "write_files"]

SETUP_TIMEOUT_S = 120.0
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "offload bench",
    "GIT_AUTHOR_EMAIL": "bench@offload.invalid",
    "GIT_COMMITTER_NAME": "offload bench",
    "GIT_COMMITTER_EMAIL": "bench@offload.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run ``git args`` in ``cwd`` (no user/system config, no inherited GIT_* variables); return stdout."""
    if not cwd.is_dir():
        raise SandboxError(f"git: no such directory {cwd}", hint="delete the bench work directory and run again")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_GIT_ENV)
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", "-c", "init.defaultBranch=main", *args]
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError as exc:
        raise SandboxError(
            "git is not installed", hint="install git: the bench runs each task in a git worktree"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(f"git {' '.join(args)} timed out in {cwd}", hint="check the disk is not stuck") from exc
    if check and done.returncode != 0:
        raise SandboxError(
            f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()[:500]}",
            hint="delete the bench work directory (it is a cache) and run again",
        )
    return done.stdout


def write_files(root: Path, files: Mapping[str, str]) -> list[str]:
    """Write ``files`` (relative POSIX paths) under ``root``; refuse paths that would escape it."""
    written = []
    base = root.resolve()
    for name, text in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts[0] == ".git":
            raise SandboxError(f"refusing to write {name!r}", hint="paths must be relative and stay inside the repo")
        target = (root / rel).resolve()
        if base not in target.parents:
            raise SandboxError(f"refusing to write {name!r} outside the repository", hint="use a relative path")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SandboxError(f"cannot write {name!r}: {exc}", hint="a file and a directory share a name?") from exc
        written.append(rel.as_posix())
    return written


class TaskRepos:
    """Task repositories and per-run worktrees under ``root`` (a cache: safe to delete between runs)."""

    def __init__(self, root: Path) -> None:
        # absolute: git resolves relative worktree paths against the repository, not against our cwd
        self.root = Path(root).resolve()

    def repo_for(self, task: BenchTask) -> Path:
        """The task's repository with its starting state committed (built on first use)."""
        repo = self.root / "repos" / _safe(task.suite) / f"{task.safe_id}-{task.fingerprint()}"
        if (repo / ".git").is_dir() and git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False).strip():
            return repo
        tmp = repo.with_name(repo.name + f".tmp-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        try:
            git(tmp, "init", "-q")
            write_files(tmp, task.files)
            if task.setup:
                _run_setup(tmp, task)
            git(tmp, "add", "-A")
            git(tmp, "commit", "-q", "--allow-empty", "-m", f"{task.suite}/{task.id}: starting state")
            if repo.exists():
                shutil.rmtree(repo)
            tmp.rename(repo)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        git(repo, "worktree", "prune")  # a renamed repository keeps no stale worktree records
        return repo

    @contextmanager
    def worktree(self, task: BenchTask, label: str, *, keep: bool = False) -> Iterator[Path]:
        """A fresh worktree of the task's starting commit, removed afterwards unless ``keep``."""
        repo = self.repo_for(task)
        path = self.root / "worktrees" / _safe(label) / f"{task.safe_id}-{uuid.uuid4().hex[:8]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        git(repo, "worktree", "add", "-q", "--detach", str(path), "HEAD")
        try:
            yield path
        finally:
            if not keep:
                self.remove(repo, path)

    @staticmethod
    def remove(repo: Path, path: Path) -> None:
        """Remove one worktree (its directory and git's record of it)."""
        git(repo, "worktree", "remove", "--force", str(path), check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        git(repo, "worktree", "prune", check=False)

    @staticmethod
    def diff(path: Path) -> str:
        """Everything a run changed in its worktree, new files included, as a unified diff."""
        git(path, "add", "-A", "-N")
        return git(path, "diff", "HEAD", "--no-color", "--no-ext-diff")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name).strip("-.") or "x"


def _run_setup(repo: Path, task: BenchTask) -> None:
    """Run the task's ``setup.sh`` in its starting repository (without network where ``unshare`` works)."""
    from offload.routing.sandbox import isolation

    script = repo.parent / f".{repo.name}.setup.sh"
    script.write_text(task.setup or "", encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo), "LANG": "C.UTF-8"}
    try:
        done = subprocess.run(
            [*isolation().prefix, "/bin/sh", str(script)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(
            f"setup.sh of task {task.id!r} ran longer than {SETUP_TIMEOUT_S:.0f}s", hint="make the setup faster"
        ) from exc
    finally:
        script.unlink(missing_ok=True)
    if done.returncode != 0:
        raise SandboxError(
            f"setup.sh of task {task.id!r} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}",
            hint="run the script by hand in a copy of the task's files/ to see why",
        )
