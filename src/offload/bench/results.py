"""Bench results: one JSON line per task × profile, appended as each case finishes (so a run can resume).

A row says how the case ended (``terminal_reason``), what every iteration did, how long each stage took,
the tokens, the cloud-equivalent cost, and which model, backend, context and sampling produced it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "OUTCOMES",
    "TERMINAL_REASONS",
    "CaseResult",
    "IterationRecord",
    "ResultsFile",
    "latest_rows",
    "read_results",
]

TerminalReason = Literal["passed", "max_iterations", "wall_time", "max_failures", "stage_timeout", "malformed", "error"]
Outcome = Literal[
    "passed", "failed", "malformed", "syntax_error", "test_timeout", "stage_timeout", "wall_time", "error"
]
#: How one iteration can end, in report order.
OUTCOMES: tuple[str, ...] = (
    "passed", "failed", "syntax_error", "malformed", "test_timeout", "stage_timeout", "wall_time", "error",
)  # fmt: skip
TERMINAL_REASONS: tuple[str, ...] = (
    "passed", "max_iterations", "wall_time", "max_failures", "stage_timeout", "malformed", "error",
)  # fmt: skip
SCHEMA_VERSION = 1


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class IterationRecord(_Row):
    """One plan → build → verify round."""

    n: int
    outcome: Outcome
    plan_s: float = 0.0
    build_s: float = 0.0
    verify_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    tests_passed: int | None = None
    tests_failed: int | None = None
    files_written: list[str] = Field(default_factory=list)
    detail: str = ""


class CaseResult(_Row):
    """The result of one task × profile."""

    schema_version: int = SCHEMA_VERSION
    suite: str
    task_id: str
    profile: str
    profile_kind: Literal["single", "hybrid"] = "single"
    passed: bool = False
    terminal_reason: TerminalReason
    iterations_used: int = 0
    #: The iteration whose tests first passed (None when never).
    first_pass_iteration: int | None = None
    iterations: list[IterationRecord] = Field(default_factory=list)
    stage_seconds: dict[str, float] = Field(default_factory=lambda: {"plan": 0.0, "build": 0.0, "verify": 0.0})
    wall_seconds: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    #: Output tokens per second of model time (plan and build calls).
    tokens_per_s: float | None = None
    malformed: int = 0
    syntax_errors: int = 0
    test_timeouts: int = 0
    failures: int = 0
    #: What the case's tokens cost: the cloud model's price for cloud roles, 0 for local ones.
    cost_usd: float = 0.0
    #: What the same tokens would cost on ``reference_model`` (cloud roles: their own price).
    cost_equiv_usd: float = 0.0
    reference_model: str = ""
    #: Per role (planner, builder): model, backend, backend_kind, cloud, context, temperature, ...
    models: dict[str, dict[str, object]] = Field(default_factory=dict)
    budget: dict[str, float] = Field(default_factory=dict)
    offload_version: str = ""
    started_at: str = ""
    finished_at: str = ""
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    journal_ids: list[str] = Field(default_factory=list)
    diff_file: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.suite, self.task_id, self.profile)

    @property
    def well_formed_iterations(self) -> int:
        """Iterations whose answer followed the format: at least one file (its code may still be wrong)."""
        return sum(
            1 for it in self.iterations if it.outcome not in ("malformed", "stage_timeout", "wall_time", "error")
        )


class ResultsFile:
    """An append-only JSONL file of :class:`CaseResult` rows (each row fsynced as it is written)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def rows(self) -> list[CaseResult]:
        return read_results([self.path]) if self.path.exists() else []

    def finished_keys(self) -> set[tuple[str, str, str]]:
        """Cases that need no re-run on ``--resume``: every row except those that ended in ``error``."""
        return {r.key for r in latest_rows(self.rows()) if r.terminal_reason != "error"}

    def append(self, row: CaseResult) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = row.model_dump_json() + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def read_results(paths: Iterable[Path]) -> list[CaseResult]:
    """Every row of the given JSONL files (a directory means its ``results.jsonl``); bad lines are skipped."""
    out: list[CaseResult] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            path = path / "results.jsonl"
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    out.append(CaseResult.model_validate(json.loads(line)))
                except (ValueError, ValidationError):
                    continue  # a line cut short by a crash: that case simply runs again on --resume
    return out


def latest_rows(rows: Iterable[CaseResult]) -> list[CaseResult]:
    """One row per task × profile: the last one written (a resumed case supersedes its earlier error)."""
    by_key: dict[tuple[str, str, str], CaseResult] = {}
    for r in rows:
        by_key.pop(r.key, None)
        by_key[r.key] = r
    return list(by_key.values())
