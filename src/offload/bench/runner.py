"""Run a suite against one or more profiles: profile after profile, task after task, resumable.

Before a profile's first case its models are loaded (backends that manage residency, e.g. Ollama, via
``keep_alive``), and after its last case they are unloaded, so the next profile has the memory. Every
finished case is appended to ``<out>/results.jsonl`` at once; ``resume=True`` skips the cases already
there (except those that ended in ``error``, which run again).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from offload import __version__
from offload.bench.loop import CaseContext, run_case
from offload.bench.profiles import Profile
from offload.bench.results import CaseResult, ResultsFile
from offload.bench.roles import close_roles, load_models, resolve_roles, unload_models
from offload.bench.suites import BenchTask, Suite
from offload.bench.worktree import TaskRepos
from offload.engine import Engine
from offload.errors import ConfigError

__all__ = ["BenchRunner", "NullProgress", "Progress", "RunSummary"]


class Progress(Protocol):
    """What a runner tells its caller while it works (the CLI draws a progress bar from it)."""

    def start(self, total: int, skipped: int) -> None: ...

    def case_start(self, task: BenchTask, profile: Profile) -> None: ...

    def case_end(self, row: CaseResult) -> None: ...

    def note(self, message: str) -> None: ...


class NullProgress:
    """A progress sink that ignores everything."""

    def start(self, total: int, skipped: int) -> None:
        return None

    def case_start(self, task: BenchTask, profile: Profile) -> None:
        return None

    def case_end(self, row: CaseResult) -> None:
        return None

    def note(self, message: str) -> None:
        return None


@dataclass
class RunSummary:
    """What one :meth:`BenchRunner.run` did."""

    results_path: Path
    rows: list[CaseResult] = field(default_factory=list)
    skipped: int = 0

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if r.passed)


class BenchRunner:
    """Runs ``suite`` × ``profiles`` into ``out_dir`` (``results.jsonl``, ``run.json``, ``diffs/``)."""

    def __init__(
        self,
        engine: Engine,
        suite: Suite,
        profiles: list[Profile],
        out_dir: Path,
        *,
        resume: bool = False,
        keep_worktrees: bool = False,
        work_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        names = [p.name for p in profiles]
        if len(set(names)) != len(names):
            raise ConfigError(f"two profiles share a name: {names}", hint="give each profile its own name")
        if not profiles:
            raise ConfigError("no profile to run", hint="pass --profile NAME (see `offload bench list`)")
        self.engine = engine
        self.suite = suite
        self.profiles = profiles
        self.out_dir = Path(out_dir).resolve()
        self.results = ResultsFile(self.out_dir / "results.jsonl")
        self.resume = resume
        self.keep_worktrees = keep_worktrees
        self.repos = TaskRepos(work_dir or self.out_dir / ".work")
        self.progress: Progress = progress or NullProgress()

    def plan(self) -> tuple[list[tuple[Profile, list[BenchTask]]], int]:
        """The cases still to run, per profile, and how many finished ones are skipped."""
        existing = self.results.rows()
        if existing and not self.resume:
            raise ConfigError(
                f"{self.results.path} already holds {len(existing)} result(s)",
                hint="pass --resume to continue that run, or choose another --out directory",
            )
        done = self.results.finished_keys() if self.resume else set()
        todo, skipped = [], 0
        for profile in self.profiles:
            tasks = [t for t in self.suite.tasks if (self.suite.name, t.id, profile.name) not in done]
            skipped += len(self.suite.tasks) - len(tasks)
            todo.append((profile, tasks))
        return todo, skipped

    async def run(self) -> RunSummary:
        """Run every pending case; rows are appended as they finish."""
        todo, skipped = self.plan()
        # bind every profile first: a misconfigured profile fails the run before anything is loaded or written
        bound = {p.name: resolve_roles(p, self.engine) for p, tasks in todo if tasks}
        summary = RunSummary(self.results.path, skipped=skipped)
        self._write_run_info()
        self.progress.start(sum(len(t) for _, t in todo), skipped)
        for profile, tasks in todo:
            if not tasks:
                continue
            roles = bound[profile.name]
            try:
                for warning in await load_models(roles):
                    self.progress.note(warning)
                ctx = CaseContext(self.engine, profile, roles, self.repos, self.out_dir, self.keep_worktrees)
                for task in tasks:
                    self.progress.case_start(task, profile)
                    row = await run_case(task, ctx)
                    self.results.append(row)
                    summary.rows.append(row)
                    self.progress.case_end(row)
            finally:
                await unload_models(roles)
                await close_roles(roles)
        return summary

    def _write_run_info(self) -> None:
        """Append this invocation (suite, profiles, machine, time) to ``run.json``."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / "run.json"
        runs: list[dict[str, object]] = []
        if path.is_file():
            try:
                runs = list(json.loads(path.read_text(encoding="utf-8")).get("runs", []))
            except (ValueError, AttributeError):
                runs = []
        info = {
            "suite": self.suite.name,
            "suite_source": self.suite.source,
            "tasks": len(self.suite.tasks),
            "profiles": [p.model_dump(mode="json", exclude={"backends"}) | {"source": p.source} for p in self.profiles],
            "offload_version": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "resumed": self.resume,
        }
        path.write_text(json.dumps({"runs": [*runs, info]}, indent=2) + "\n", encoding="utf-8")
