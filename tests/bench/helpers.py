"""Shared pieces of the bench tests: a toy suite on disk, an engine with scripted backends, profiles."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from offload.backends import Backend
from offload.bench.profiles import Budget, Profile, RoleSpec
from offload.bench.suites import Suite, load_suite_dir
from offload.config import parse_config
from offload.engine import Engine

CALC_STUB = "def add(a, b):\n    raise NotImplementedError\n"
UTIL = "def double(x):\n    return 2 * x\n"
HIDDEN = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n    assert add(-1, 1) == 0\n"

GOOD = "calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n"
WRONG = "calc.py\n```python\ndef add(a, b):\n    return a - b\n```\n"
SYNTAX = "calc.py\n```python\ndef add(a, b) return a\n```\n"
LOOP = "calc.py\n```python\ndef add(a, b):\n    while True:\n        pass\n```\n"
PROSE = "I would add the two numbers together."


def write_task(root: Path, name: str, *, files: Mapping[str, str] | None = None, hidden: str = HIDDEN,
               toml: str = "", solution: Mapping[str, str] | None = None) -> Path:  # fmt: skip
    """Write one task directory of the documented format."""
    d = root / name
    for rel, text in (files or {"calc.py": CALC_STUB, "util.py": UTIL}).items():
        (d / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / "files" / rel).write_text(text)
    (d / "tests").mkdir(parents=True, exist_ok=True)
    (d / "tests" / "test_calc.py").write_text(hidden)
    (d / "spec.md").write_text(f"# {name}\n\nImplement `add(a, b)` in calc.py: return the sum.\n")
    if toml:
        (d / "task.toml").write_text(toml)
    for rel, text in (solution or {}).items():
        (d / "solution" / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / "solution" / rel).write_text(text)
    return d


def toy_suite(root: Path, names: tuple[str, ...] = ("add",), toml: str = "timeout_s = 10\n") -> Suite:
    """A suite of identical 'implement add' tasks."""
    suite_dir = root / "toy-suite"
    for name in names:
        write_task(suite_dir, name, toml=toml)
    return load_suite_dir(suite_dir)


def engine(tmp_path: Path, backends: Mapping[str, Backend], config: dict[str, Any] | None = None) -> Engine:
    return Engine(parse_config(config or {}), backends=dict(backends), journal_path=tmp_path / "journal.db")


def profile(name: str = "p", backend: str = "sb", *, planner: str | None = None, **budget: Any) -> Profile:
    return Profile(
        name=name,
        builder=RoleSpec(backend=backend, model=f"{name}-builder", max_tokens=256),
        planner=RoleSpec(backend=planner, model=f"{name}-planner", max_tokens=128) if planner else None,
        budget=Budget(**{"max_iterations": 3, "max_failures": 3, **budget}),
    )
