"""Verify a worktree: copy its files and the task's hidden tests into the sandbox and run the tests there.

The hidden tests never touch the worktree: the sandbox gets a fresh directory holding a copy of the
worktree's files plus the tests under ``_hidden_tests/``, and it is removed after the run. Tests run with the
built-in runner (:mod:`offload.bench.testkit`) unless the task names its own ``test_command``.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from offload.bench.suites import BenchTask
from offload.bench.testkit import HIDDEN_DIR, RESULT_MARK
from offload.errors import SandboxError
from offload.routing.sandbox import SandboxResult, run_command_async, run_python_async

__all__ = ["TestRun", "read_tree", "run_hidden_tests"]

RUNNER_FILE = "_offload_bench_runner.py"
MAX_TREE_BYTES = 8 * 1024 * 1024
MEMORY_MB = 768
OUTPUT_CAP = 200_000


@dataclass(frozen=True)
class TestRun:
    """The outcome of one run of a task's hidden tests."""

    __test__ = False  # not a pytest test class

    passed: bool
    output: str
    timed_out: bool
    duration_s: float
    tests_passed: int | None = None
    tests_failed: int | None = None
    exit_code: int | None = None
    killed_reason: str | None = None


def read_tree(root: Path) -> dict[str, str]:
    """The text files of a worktree (``.git`` and caches left out), as ``relative/path -> text``."""
    if not root.is_dir():
        raise SandboxError(f"no worktree at {root}", hint="delete the bench work directory and run again")
    out: dict[str, str] = {}
    total = 0
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or rel.parts[0] == ".git" or "__pycache__" in rel.parts or p.suffix == ".pyc":
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary or unreadable: not part of what models see or tests need
        total += len(text)
        if total > MAX_TREE_BYTES:
            raise SandboxError(
                f"the worktree {root} holds more than {MAX_TREE_BYTES // 2**20} MiB of text",
                hint="bench tasks must stay small; check the task's files and what the model wrote",
            )
        out[rel.as_posix()] = text
    return out


def _runner_source() -> str:
    return (resources.files("offload.bench") / "testkit.py").read_text(encoding="utf-8")


async def run_hidden_tests(
    tree: Path | Mapping[str, str], task: BenchTask, *, timeout_s: float | None = None
) -> TestRun:
    """Run ``task``'s hidden tests against ``tree`` (a worktree directory or its files) in the sandbox."""
    files = dict(read_tree(tree) if isinstance(tree, Path) else tree)
    for name in [n for n in files if n in (HIDDEN_DIR, RUNNER_FILE) or n.startswith(HIDDEN_DIR + "/")]:
        del files[name]  # a model cannot smuggle in its own "hidden tests" or replace the runner
    for name, text in task.hidden_tests.items():
        files[f"{HIDDEN_DIR}/{name}"] = text
    timeout = task.timeout_s if timeout_s is None else min(timeout_s, task.timeout_s)
    timeout = max(timeout, 0.1)
    if task.test_command:
        res = await run_command_async(
            task.test_command, timeout_s=timeout, memory_mb=MEMORY_MB, output_cap=OUTPUT_CAP, files=files
        )
    elif "main.py" in files:  # the sandbox's Python mode runs its code as main.py: keep the repo's own
        files[RUNNER_FILE] = _runner_source()
        res = await run_command_async(
            f"{shlex.quote(sys.executable)} -I {RUNNER_FILE}",
            timeout_s=timeout,
            memory_mb=MEMORY_MB,
            output_cap=OUTPUT_CAP,
            files=files,
        )
    else:
        res = await run_python_async(
            _runner_source(), timeout_s=timeout, memory_mb=MEMORY_MB, output_cap=OUTPUT_CAP, files=files
        )
    return _summarise(res)


def _summarise(res: SandboxResult) -> TestRun:
    counts = None
    for line in reversed(res.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            try:
                counts = json.loads(line[len(RESULT_MARK) :])
            except ValueError:
                counts = None
            break
    lines = [ln for ln in res.stdout.splitlines() if not ln.startswith(RESULT_MARK)]
    output = "\n".join(lines)
    if res.stderr.strip():
        output = f"{output}\n{res.stderr.strip()}" if output else res.stderr.strip()
    if res.killed_reason:
        output += f"\n[sandbox] {res.describe()}"
    tests_passed = tests_failed = None
    if isinstance(counts, dict):
        tests_passed = int(counts.get("passed", 0))
        tests_failed = int(counts.get("failed", 0)) + int(counts.get("errors", 0))
    return TestRun(
        passed=res.ok,
        output=output.strip(),
        timed_out=res.timed_out,
        duration_s=res.duration_s,
        tests_passed=tests_passed,
        tests_failed=tests_failed,
        exit_code=res.exit_code,
        killed_reason=res.killed_reason,
    )
