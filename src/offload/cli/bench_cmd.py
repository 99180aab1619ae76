"""``offload bench run | report | list | check``: measure local models (and pairs) as coding agents."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from offload.bench.leaderboard import ProfileSummary
from offload.bench.profiles import Profile, bundled_profile_names, load_profile
from offload.bench.report import leaderboard_rows, write_report
from offload.bench.results import CaseResult, read_results
from offload.bench.suites import BUILTIN_SUITES, BenchTask, load_suite
from offload.cli.common import console, err_console, print_json, state
from offload.errors import InvalidRequest

bench_app = typer.Typer(
    help="Benchmark local models (or planner + builder pairs) as coding agents.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


class _Bar:
    """A rich progress bar with ETA and a live pass count, fed by the runner."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.passed = 0
        self.done = 0

    def start(self, total: int, skipped: int) -> None:
        if skipped:
            self.progress.console.print(f"resuming: {skipped} finished case(s) skipped", highlight=False)
        self.task = self.progress.add_task("starting", total=total, passed=0)

    def case_start(self, task: BenchTask, profile: Profile) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=f"{profile.name} · {task.id}")

    def case_end(self, row: CaseResult) -> None:
        self.done += 1
        self.passed += int(row.passed)
        if self.task is not None:
            self.progress.update(self.task, advance=1, passed=self.passed)
        if row.terminal_reason == "error":
            self.progress.console.print(f"[red]{row.profile} · {row.task_id}: {row.error}[/]", highlight=False)

    def note(self, message: str) -> None:
        self.progress.console.print(f"[yellow]{message}[/]", highlight=False)


def _override(profile: Profile, max_iterations: int | None, max_tokens: int | None) -> Profile:
    if max_iterations is not None:
        profile = profile.model_copy(
            update={"budget": profile.budget.model_copy(update={"max_iterations": max_iterations})}
        )
    if max_tokens is not None:
        roles = {r: s.model_copy(update={"max_tokens": max_tokens}) for r, s in profile.roles().items()}
        profile = profile.model_copy(update=roles)
    return profile


@bench_app.command("run")
def run(
    ctx: typer.Context,
    suite: str = typer.Option(..., "--suite", "-s", help="humaneval, repo-tasks, or the path of a suite directory."),
    profile: list[str] = typer.Option(
        ..., "--profile", "-p", help="A bundled profile name or a TOML file (repeatable)."
    ),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="Only the first N tasks of the suite."),
    task: list[str] = typer.Option([], "--task", "-t", help="Only these task ids (repeatable)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Results directory (default bench/results/<suite>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a run in --out: finished cases are skipped."),
    max_iterations: int | None = typer.Option(None, "--max-iterations", min=1, help="Override every profile's budget."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Override every role's max_tokens."),
    keep_worktrees: bool = typer.Option(False, "--keep-worktrees", help="Keep each case's worktree for inspection."),
) -> None:
    """Run SUITE with each PROFILE, one after another; results go to OUT/results.jsonl as cases finish."""
    from offload.bench.runner import BenchRunner

    the_suite = load_suite(suite).limited(limit, tuple(task))
    if not the_suite.tasks:
        raise InvalidRequest("no task selected", hint="check --task ids against `offload bench list --tasks SUITE`")
    profiles = [_override(load_profile(p), max_iterations, max_tokens) for p in profile]
    out_dir = out or Path("bench") / "results" / the_suite.name
    o = state(ctx).offload()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[passed]} passed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bar = _Bar(progress)
        runner = BenchRunner(
            o.engine, the_suite, profiles, out_dir, resume=resume, keep_worktrees=keep_worktrees, progress=bar
        )
        summary = _run_interruptibly(o, runner.run())
    console.print(
        f"{len(summary.rows)} case(s) run, {summary.passed} passed"
        + (f", {summary.skipped} skipped (already done)" if summary.skipped else "")
        + f" · results: {summary.results_path}\nnext: offload bench report {summary.results_path}",
        highlight=False,
    )


def _run_interruptibly(o: Any, coro: Any) -> Any:
    """Run ``coro`` on the Offload's loop; Ctrl-C cancels it and waits for the worktree cleanup."""
    finished = threading.Event()

    async def main() -> Any:
        try:
            return await coro
        finally:
            finished.set()

    fut = asyncio.run_coroutine_threadsafe(main(), o._ensure_loop())
    try:
        return fut.result()
    except KeyboardInterrupt:
        fut.cancel()
        finished.wait(30)
        err_console.print("interrupted: finished cases are saved; run again with --resume to continue")
        raise typer.Exit(130) from None


def _print_leaderboard(summaries: list[ProfileSummary]) -> None:
    head, body = leaderboard_rows(summaries)
    table = Table(*head, title="bench leaderboard")
    for row in body:
        table.add_row(*row)
    console.print(table)


@bench_app.command("report")
def report(
    results: list[Path] = typer.Argument(..., help="results.jsonl files (or run directories holding one)."),
    compare: tuple[str, str] | None = typer.Option(None, "--compare", help="Paired comparison of two profiles."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Report directory (default: <results dir>/report)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Draw the PNG plots (needs matplotlib)."),
    as_json: bool = typer.Option(False, "--json", help="Print the leaderboard as JSON."),
) -> None:
    """Leaderboard, PNG plots and a self-contained HTML page from one or more result files."""
    for p in results:
        if not p.exists() or (p.is_dir() and not (p / "results.jsonl").is_file()):
            raise InvalidRequest(f"no results at {p}", hint="pass a results.jsonl or the --out directory of a run")
    rows = read_results(results)
    if not rows:
        raise InvalidRequest("the results hold no rows", hint="run `offload bench run` first")
    first = results[0] if results[0].is_dir() else results[0].parent
    rep = write_report(rows, out or first / "report", compare_profiles=compare, plots=plots)
    if as_json:
        print_json(
            {"profiles": [s.to_dict() for s in rep.summaries], "files": {k: str(v) for k, v in rep.files.items()}}
        )
        return
    _print_leaderboard(rep.summaries)
    if rep.comparison is not None:
        c, t = rep.comparison, rep.comparison.test
        console.print(
            f"{c.a} vs {c.b} on {t.n} paired tasks: both {t.both}, only {c.a} {t.only_a}, only {c.b} {t.only_b}, "
            f"neither {t.neither} · McNemar exact p = {t.p_exact:.4g} (χ² cc = {t.chi2:.3f}, p = {t.p_chi2:.4g})",
            highlight=False,
        )
    for name, path in rep.files.items():
        console.print(f"  {name:<22} {path}", highlight=False)


@bench_app.command("list")
def list_(
    tasks: str | None = typer.Option(None, "--tasks", help="List the tasks of this suite instead."),
) -> None:
    """Built-in suites and bundled example profiles."""
    if tasks:
        s = load_suite(tasks)
        t = Table("task", "title", "files", "hidden tests", title=f"{s.name} ({len(s.tasks)} tasks)")
        for task in s.tasks:
            t.add_row(task.id, task.title, str(len(task.files)), str(len(task.hidden_tests)))
        console.print(t)
        return
    st = Table("suite", "tasks", "description", title="suites (or pass the path of your own suite directory)")
    for name in BUILTIN_SUITES:
        s = load_suite(name)
        st.add_row(name, str(len(s.tasks)), s.description)
    console.print(st)
    pt = Table("profile", "kind", "models", "iterations", "wall s", title="bundled profiles (or pass a TOML path)")
    for name in bundled_profile_names():
        p = load_profile(name)
        models = " → ".join(f"{r.model}@{r.backend or '?'}" for r in p.roles().values())
        pt.add_row(name, p.kind, models, str(p.budget.max_iterations), f"{p.budget.max_wall_time_s:.0f}")
    console.print(pt)


@bench_app.command("check")
def check(
    suite: str = typer.Option(..., "--suite", "-s", help="repo-tasks, humaneval, or a suite directory."),
    task: list[str] = typer.Option([], "--task", "-t", help="Only these task ids (repeatable)."),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1),
) -> None:
    """Check each task: hidden tests fail on its starting files and pass with its reference solution."""
    from offload.bench.repo_tasks import check_task, default_check_dir
    from offload.bench.worktree import TaskRepos

    the_suite = load_suite(suite).limited(limit, tuple(task))
    repos = TaskRepos(default_check_dir())
    bad = 0
    for t in the_suite.tasks:
        result = asyncio.run(check_task(t, repos))
        problem = result.problem()
        bad += problem is not None
        console.print(f"{'[green]ok[/]  ' if problem is None else '[red]BAD[/] '} {t.id}", highlight=False)
        if problem:
            console.print(f"      {problem}", highlight=False, markup=False)
    console.print(f"{len(the_suite.tasks) - bad}/{len(the_suite.tasks)} task(s) sound", highlight=False)
    if bad:
        raise typer.Exit(1)
