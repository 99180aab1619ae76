"""``offload build | fixtures | mock | review | vision``: delegated jobs, each verified before it is shown."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table

from offload.cli.common import console, print_json, state
from offload.errors import InvalidRequest, NoRouteAvailable, VerificationFailed
from offload.types import ChatResponse


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("fixtures")(fixtures)
    app.command("mock")(mock)
    app.command("review")(review)
    app.command("vision")(vision)


def footer(resp: ChatResponse, record_id: str | None = None) -> str:
    """One dim line: model, verdict, attempts, journal id, provenance record."""
    tries = len([a for a in resp.attempts if a.status != "skipped"])
    sig = f" · signed {record_id}" if record_id else ""
    return f"model {resp.model} ({resp.backend}) · verdict {resp.verdict} · {tries} attempt(s) · journal {resp.journal_id}{sig}"


def _attempts(exc: NoRouteAvailable) -> None:
    if not exc.attempts:
        return
    t = Table("#", "model", "status", "verdict", "detail", title="attempts", title_justify="left")
    for a in exc.attempts:
        t.add_row(str(a.n), a.model, a.status, a.verdict, escape((a.detail or "")[:100]))
    console.print(t)


def build(
    ctx: typer.Context,
    task: Path = typer.Argument(..., help="The task JSON: {task_id, objective, files, acceptance, constraints}."),
    root: Path = typer.Option(Path("."), "--root", help="Project root the task's file paths are relative to."),
    context: list[Path] = typer.Option(
        [], "--context", help="Project notes (FILE or DIR), trimmed to fit (repeatable)."
    ),
    model: str = typer.Option("auto", "--model", "-m", help="An inventory model, or auto."),
    apply: bool = typer.Option(False, "--apply", help="Write the change as a reviewable unified diff."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --apply: apply the change to the file."),
    patch: Path | None = typer.Option(None, "--patch", help="Where --apply writes the diff (default TASK_ID.patch)."),
    as_json: bool = typer.Option(False, "--json", help="Print the suggestion as JSON."),
) -> None:
    """Turn a task into a verified code suggestion (never a placeholder: it fails instead)."""
    from offload.workers.builder import apply_suggestion, load_task
    from offload.workers.builder import build as run_build
    from offload.workers.provenance import sign_artifact

    if yes and not apply:
        raise InvalidRequest("--yes only makes sense with --apply", hint="use --apply --yes to change the file")
    loaded = load_task(task, root)
    o = state(ctx).offload()
    try:
        result = o.call(run_build(o.engine, loaded, context=list(context), model=model))
    except (NoRouteAvailable, VerificationFailed) as exc:
        if isinstance(exc, NoRouteAvailable):
            _attempts(exc)
        raise VerificationFailed(
            f"no model produced a verified suggestion for task {loaded.spec.task_id}; nothing was written",
            hint=(exc.hint or "") + "; see `offload log` for every attempt",
        ) from exc
    s, gen = result.suggestion, result.generation
    record = gen.provenance.id if gen.provenance else None
    if as_json:
        print_json(s.model_dump() | {"diff": result.diff, "journal_id": gen.journal_id, "provenance": record})
    else:
        console.print(f"[bold]{escape(s.file_path)}[/] — {escape(s.explanation)}", highlight=False)
        console.print(Syntax(result.diff or "(no change)", "diff", theme="ansi_dark", word_wrap=True))
        console.rule("tests")
        console.print(Syntax(s.tests, "python", theme="ansi_dark", word_wrap=True))
        console.print(f"verification: {escape(s.verification)}", highlight=False)
        console.print(footer(gen.response, record), style="dim", highlight=False)
    if not apply:
        return
    if yes:
        written = apply_suggestion(result)
        console.print(f"applied to {written}", highlight=False)
        return
    from offload.workers import atomic

    out = patch or Path(f"{loaded.spec.task_id}.patch")
    atomic.write_text(out, result.diff)
    sign_artifact(out, "build", [gen.journal_id or ""], task_id=loaded.spec.task_id)
    console.print(f"wrote {out}: review it, then `git apply {out}` (or run again with --apply --yes)", highlight=False)


def fixtures(
    ctx: typer.Context,
    schema: Path = typer.Option(..., "--schema", help="JSON Schema every record must satisfy."),
    count: int = typer.Option(..., "--count", "-n", help="How many records the file should hold."),
    out: Path = typer.Option(..., "--out", "-o", help="JSON Lines file (resumed when it exists)."),
    batch: int = typer.Option(10, "--batch", help="Records per model call (1-100)."),
    seed: int | None = typer.Option(None, "--seed", help="Make the run repeatable."),
    unique: list[str] = typer.Option([], "--unique", help="A key that must be unique (repeatable; dotted paths)."),
    instructions: str = typer.Option("", "--instructions", help="What the data should look like."),
    model: str = typer.Option("auto", "--model", "-m"),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Generate valid, unique records in batches; rerun the same command to resume."""
    from offload.workers.common import load_json_file
    from offload.workers.fixtures import generate_fixtures

    if count < 1:
        raise InvalidRequest(f"--count must be at least 1, got {count}", hint="e.g. --count 100")
    data = load_json_file(schema, "schema file")
    o = state(ctx).offload()
    columns = (TextColumn("fixtures"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=as_json, disable=as_json) as bar:
        tid = bar.add_task("records", total=count)
        result = o.call(generate_fixtures(
            o.engine, data, count, out, batch_size=batch, seed=seed, unique=unique, instructions=instructions,
            model=model, on_progress=lambda done, total: bar.update(tid, completed=done, total=total),
        ))  # fmt: skip
    summary = {
        "out": str(result.path), "records": result.total, "written": result.written, "existing": result.existing,
        "batches": result.batches, "invalid_dropped": result.invalid, "duplicates_dropped": result.duplicates,
        "provenance": result.provenance.id if result.provenance else None,
    }  # fmt: skip
    if as_json:
        print_json(summary)
        return
    resumed = f" (resumed: {result.existing} were there)" if result.existing else ""
    console.print(
        f"{result.path}: {result.total} records, {result.written} new in {result.batches} batch(es){resumed}; "
        f"dropped {result.invalid} invalid and {result.duplicates} duplicate record(s)",
        highlight=False,
    )


def mock(
    ctx: typer.Context,
    request: str = typer.Argument(..., help='The request, e.g. "GET /api/users?page=2".'),
    schema: Path | None = typer.Option(None, "--schema", help="JSON Schema of one resource."),
    body_schema: bool = typer.Option(False, "--body-schema", help="--schema describes the whole body instead."),
    about: str = typer.Option("", "--about", help="What the API is about (helps realism)."),
    full: bool = typer.Option(False, "--full", help="Print status and body, not only the body."),
    model: str = typer.Option("auto", "--model", "-m"),
) -> None:
    """A realistic JSON response to an API request (validated, pagination checked)."""
    from offload.workers.common import load_json_file
    from offload.workers.mock_api import mock_response

    data = load_json_file(schema, "schema file") if schema else None
    o = state(ctx).offload()
    result = o.call(mock_response(o.engine, request, schema=data, as_body=body_schema, hint=about, model=model))
    print_json({"status": result.status, "body": result.body} if full else result.body)


def review(
    ctx: typer.Context,
    files: list[str] = typer.Argument(None, help="Files to review (with --diff: an optional revision)."),
    diff: bool = typer.Option(False, "--diff", help="Review `git diff [REV]` (default: uncommitted changes vs HEAD)."),
    focus: str = typer.Option("", "--focus", help="What to look at, e.g. 'security'."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at least this severe."),
    model: str = typer.Option("auto", "--model", "-m"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Structured review findings; high-severity or uncertain ones are marked for escalation."""
    from offload.workers.review import SEVERITIES, diff_segments, file_segments, git_diff
    from offload.workers.review import review as run_review

    files = list(files or [])
    if fail_on is not None and fail_on not in SEVERITIES:
        raise InvalidRequest(f"--fail-on {fail_on!r} is not a severity", hint=f"use one of {', '.join(SEVERITIES)}")
    if diff:
        if len(files) > 1:
            raise InvalidRequest("--diff takes at most one revision", hint="offload review --diff HEAD~1")
        segments = diff_segments(git_diff(files[0] if files else None))
    elif files:
        segments = file_segments(list(files))
    else:
        raise InvalidRequest("nothing to review", hint="pass files, or --diff [REV]")
    o = state(ctx).offload()
    result = o.call(run_review(o.engine, segments, focus=focus, model=model))
    if as_json:
        print_json({"findings": [f.to_dict() for f in result.findings], "escalations": len(result.escalations),
                    "journal_ids": result.generations})  # fmt: skip
    else:
        t = Table("file:line", "severity", "category", "message", "suggestion", "escalate")
        for f in result.findings:
            t.add_row(escape(f"{f.file}:{f.line}"), f.severity, f.category, escape(f.message), escape(f.suggestion),
                      "yes" if f.needs_escalation else "")  # fmt: skip
        console.print(t if result.findings else "no findings")
        console.print(f"{len(result.findings)} finding(s), {len(result.escalations)} marked for escalation",
                      highlight=False)  # fmt: skip
    if fail_on is not None:
        worst = max((SEVERITIES.index(f.severity) for f in result.findings), default=-1)
        if worst >= SEVERITIES.index(fail_on):
            raise typer.Exit(1)


def vision(
    ctx: typer.Context,
    image: Path = typer.Argument(..., help="A PNG, JPEG, GIF or WebP screenshot."),
    prompt: str | None = typer.Option(None, "--prompt", help="Something specific to check."),
    max_mb: float = typer.Option(10.0, "--max-mb", min=0.1, max=100.0, help="Refuse larger images."),
    model: str = typer.Option("auto", "--model", "-m"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Pre-screen a UI screenshot on a vision model; says whether a stronger check is needed."""
    from offload.workers.vision import screen

    o = state(ctx).offload()
    result = o.call(screen(o.engine, image, prompt=prompt, max_bytes=int(max_mb * 1024 * 1024), model=model))
    if as_json:
        print_json({"findings": result.findings, "summary": result.summary,
                    "needs_escalation": result.needs_escalation, "journal_id": result.generation.journal_id})  # fmt: skip
        return
    t = Table("issue", "severity", "where", "description")
    for f in result.findings:
        t.add_row(f["issue"], f["severity"], escape(f["location"]), escape(f["description"]))
    console.print(t if result.findings else "no visual defects found")
    console.print(escape(result.summary), highlight=False)
    console.print(f"needs escalation: {'yes' if result.needs_escalation else 'no'}", highlight=False)
    console.print(footer(result.generation.response), style="dim", highlight=False)


__all__ = ["build", "fixtures", "footer", "mock", "register", "review", "vision"]
