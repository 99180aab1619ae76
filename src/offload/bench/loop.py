"""One task × one profile: plan (hybrids) → build → verify in a fresh worktree, until pass or a budget ends.

Each iteration shows the model the task, the repository as it now is and what went wrong last time; the
builder's whole-file answer is written into the worktree; the hidden tests run in the sandbox. The case
stops with one terminal reason:

``passed``          the hidden tests passed;
``max_iterations``  every allowed iteration ran without passing;
``max_failures``    too many broken iterations (malformed answer, syntax error, test timeout);
``malformed``       iterations ran out (or failures did) and not one answer held usable code;
``stage_timeout``   a model call took longer than ``stage_timeout_s``;
``wall_time``       the case's wall-clock budget ran out;
``error``           a backend or the sandbox failed (not the model's fault; re-run on ``--resume``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from offload import __version__
from offload.bench import prompts
from offload.bench.checker import read_tree, run_hidden_tests
from offload.bench.edits import keep_original_imports, parse_edits, strip_thinking, syntax_errors
from offload.bench.profiles import Profile
from offload.bench.results import CaseResult, IterationRecord
from offload.bench.roles import RoleClient, StageTimeout, journaled_call
from offload.bench.suites import BenchTask
from offload.bench.worktree import TaskRepos, write_files
from offload.engine import Engine
from offload.errors import OffloadError
from offload.types import ChatResponse, estimate_tokens

__all__ = ["CaseContext", "run_case"]


@dataclass
class CaseContext:
    """Everything a case needs besides its task (shared by all cases of one profile)."""

    engine: Engine
    profile: Profile
    roles: dict[str, RoleClient]
    repos: TaskRepos
    out_dir: Path | None = None
    keep_worktrees: bool = False
    clock: Callable[[], float] = time.monotonic


class _Case:
    def __init__(self, task: BenchTask, ctx: CaseContext) -> None:
        self.task, self.ctx = task, ctx
        self.budget = ctx.profile.budget
        self.reference = ctx.engine.reference_model(None)
        self.started = ctx.clock()
        self.iterations: list[IterationRecord] = []
        self.tokens_in = self.tokens_out = 0
        self.model_seconds = 0.0
        self.cost = self.cost_equiv = 0.0
        self.malformed = self.syntax = self.timeouts = self.failures = 0
        self.warnings: list[str] = []
        self.journal_ids: list[str] = []

    def remaining(self) -> float:
        return self.budget.max_wall_time_s - (self.ctx.clock() - self.started)

    async def ask(self, role: str, prompt: str, it: IterationRecord) -> ChatResponse:
        rc = self.ctx.roles[role]
        default = prompts.PLANNER_SYSTEM if role == "planner" else prompts.BUILDER_SYSTEM
        system = rc.spec.system or default
        need = estimate_tokens(system + prompt) + rc.spec.max_tokens
        if rc.context and need > rc.context:
            note = f"{role}: prompt + max_tokens (~{need} tokens) exceed the context of {rc.context}"
            if note not in self.warnings:
                self.warnings.append(note)
        remaining = self.remaining()
        limit = min(self.budget.stage_timeout_s, remaining)
        t0 = self.ctx.clock()
        try:
            resp, jid = await journaled_call(
                self.ctx.engine,
                rc,
                rc.request(system, prompt),
                timeout_s=limit,
                by_wall=remaining < self.budget.stage_timeout_s,
                profile=self.ctx.profile.name,
            )
        finally:
            spent = self.ctx.clock() - t0
            self.model_seconds += spent
            if role == "planner":
                it.plan_s += spent
            else:
                it.build_s += spent
        self.journal_ids.append(jid)
        usage = resp.usage
        it.tokens_in += usage.input_tokens
        it.tokens_out += usage.output_tokens
        self.tokens_in += usage.input_tokens
        self.tokens_out += usage.output_tokens
        prices = self.ctx.engine.prices
        if rc.cloud:
            spend = prices.cost_usd(rc.spec.model, usage)
            self.cost += spend
            self.cost_equiv += spend
        else:
            self.cost_equiv += prices.cost_usd(self.reference, usage)
        return resp

    def exhausted(self, reason: str) -> str:
        all_malformed = bool(self.iterations) and all(it.outcome == "malformed" for it in self.iterations)
        return "malformed" if all_malformed else reason

    async def loop(self, wt: Path) -> tuple[str, str | None]:
        feedback: str | None = None
        task = self.task
        for n in range(1, self.budget.max_iterations + 1):
            if self.remaining() <= 0:
                return "wall_time", None
            it = IterationRecord(n=n, outcome="error")
            self.iterations.append(it)
            files = read_tree(wt)
            try:
                plan = None
                if "planner" in self.ctx.roles:
                    plan = strip_thinking(
                        (await self.ask("planner", prompts.plan_prompt(task.spec, files, feedback), it)).content
                    )
                answer = await self.ask("builder", prompts.build_prompt(task.spec, files, feedback, plan), it)
            except StageTimeout as exc:
                it.outcome = "wall_time" if exc.by_wall else "stage_timeout"
                it.detail = str(exc)
                return it.outcome, None
            except OffloadError as exc:
                it.detail = exc.message
                return "error", str(exc)
            edits = parse_edits(answer.content, files, entry_point=task.entry_point)
            if not edits:
                it.outcome = "malformed"
                it.detail = "answer cut off at max_tokens" if answer.finish_reason == "length" else "no file in answer"
                self.malformed += 1
                self.failures += 1
                feedback = prompts.feedback_malformed()
            else:
                contents = {e.path: e.content for e in edits}
                if task.keep_imports:
                    contents = {p: keep_original_imports(files.get(p, ""), c) for p, c in contents.items()}
                it.files_written = write_files(wt, contents)
                errors = syntax_errors(edits)
                if errors:
                    it.outcome, it.detail = "syntax_error", errors[0]
                    self.syntax += 1
                    self.failures += 1
                    feedback = prompts.feedback_syntax(errors)
                else:
                    stop, feedback = await self.verify(wt, it)
                    if stop is not None:
                        return stop, None
            if self.failures >= self.budget.max_failures and n < self.budget.max_iterations:
                return self.exhausted("max_failures"), None
        return self.exhausted("max_iterations"), None

    async def verify(self, wt: Path, it: IterationRecord) -> tuple[str | None, str | None]:
        """Run the hidden tests: ``(terminal reason, None)`` when the case ends here, else ``(None, feedback)``."""
        remaining = self.remaining()
        if remaining <= 0:
            it.outcome = "wall_time"
            return "wall_time", None
        limit = min(self.task.timeout_s, remaining)
        t0 = self.ctx.clock()
        run = await run_hidden_tests(wt, self.task, timeout_s=limit)
        it.verify_s += self.ctx.clock() - t0
        it.tests_passed, it.tests_failed = run.tests_passed, run.tests_failed
        if run.passed:
            it.outcome = "passed"
            return "passed", None
        if run.timed_out:
            if remaining < self.task.timeout_s:
                it.outcome = "wall_time"
                return "wall_time", None
            it.outcome, it.detail = "test_timeout", f"tests timed out after {limit:.0f}s"
            self.timeouts += 1
            self.failures += 1
            return None, prompts.feedback_timeout(limit)
        it.outcome = "failed"
        it.detail = _failure_line(run.output)
        return None, prompts.feedback_failed(run.output)

    def result(self, reason: str, error: str | None, started_at: str, diff_file: str | None) -> CaseResult:
        its = self.iterations
        stage = {
            "plan": round(sum(i.plan_s for i in its), 3),
            "build": round(sum(i.build_s for i in its), 3),
            "verify": round(sum(i.verify_s for i in its), 3),
        }
        first = next((i.n for i in its if i.outcome == "passed"), None)
        return CaseResult(
            suite=self.task.suite,
            task_id=self.task.id,
            profile=self.ctx.profile.name,
            profile_kind=self.ctx.profile.kind,
            passed=reason == "passed",
            terminal_reason=reason,  # type: ignore[arg-type]
            iterations_used=len(its),
            first_pass_iteration=first,
            iterations=its,
            stage_seconds=stage,
            wall_seconds=round(self.ctx.clock() - self.started, 3),
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            tokens_per_s=round(self.tokens_out / self.model_seconds, 2) if self.model_seconds > 0 else None,
            malformed=self.malformed,
            syntax_errors=self.syntax,
            test_timeouts=self.timeouts,
            failures=self.failures,
            cost_usd=round(self.cost, 8),
            cost_equiv_usd=round(self.cost_equiv, 8),
            reference_model=self.reference,
            models={role: rc.describe() for role, rc in self.ctx.roles.items()},
            budget=self.budget.model_dump(),
            offload_version=__version__,
            started_at=started_at,
            finished_at=_now(),
            error=error,
            warnings=self.warnings,
            journal_ids=self.journal_ids,
            diff_file=diff_file,
        )


_EXC_LINE = re.compile(r"^\s*[\w.]*(Error|Exception|Exit|Interrupt)\b")


def _failure_line(output: str) -> str:
    """The most telling line of a failed test run: the last exception line (plus an assert's left side)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("==")]
    for i in range(len(lines) - 1, -1, -1):
        if _EXC_LINE.match(lines[i]):
            after = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("left:") else ""
            return f"{lines[i]} {after}".strip()[:300]
    return lines[-1][:300] if lines else ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def run_case(task: BenchTask, ctx: CaseContext) -> CaseResult:
    """Run ``task`` with ``ctx.profile`` in a fresh worktree and return its result row (never raises for a
    model's or a backend's failure; cancellation propagates after the worktree is removed)."""
    case = _Case(task, ctx)
    started_at = _now()
    reason, error, diff_file = "error", None, None
    try:
        with ctx.repos.worktree(task, ctx.profile.name, keep=ctx.keep_worktrees) as wt:
            try:
                reason, error = await case.loop(wt)
            except OffloadError as exc:  # the sandbox could not run, a write was refused ...
                reason, error = "error", str(exc)
            diff_file = _save_diff(ctx, task, wt)
    except OffloadError as exc:  # the task repository could not be built
        reason, error = "error", str(exc)
    except Exception as exc:  # a bug must not end a long run: record it and go on with the next case
        reason, error = "error", f"internal error: {type(exc).__name__}: {exc}"
    return case.result(reason, error, started_at, diff_file)


def _save_diff(ctx: CaseContext, task: BenchTask, wt: Path) -> str | None:
    if ctx.out_dir is None:
        return None
    diff = TaskRepos.diff(wt)
    if not diff.strip():
        return None
    rel = Path("diffs") / _safe(ctx.profile.name) / f"{task.safe_id}.diff"
    target = ctx.out_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(diff, encoding="utf-8")
    return rel.as_posix()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name) or "profile"
