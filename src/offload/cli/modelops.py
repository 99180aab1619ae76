"""``offload setup | plan | ps | load | unload | gpu``: set up the inventory and manage what is in (V)RAM."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from offload.cli.common import console, print_json, state
from offload.config import default_config_path, load_config
from offload.models import detect_gpus, inventory_path, resolve_budget
from offload.models.inventory_install import choose_inventory, install_inventory
from offload.models.ops import ModelManager, OpsEvent, SetupReport
from offload.models.planner import DEFAULT_WORKFLOW, Plan, load_workflow, plan_workflow

_STATUS_STYLE = {"present": "green", "pulled": "green", "skipped": "dim", "failed": "red"}


def register(app: typer.Typer) -> None:
    app.command("setup")(setup)
    app.command("plan")(plan)
    app.command("ps")(ps)
    app.command("load")(load)
    app.command("unload")(unload)
    app.command("gpu")(gpu)


def _manager(ctx: typer.Context) -> tuple[Any, ModelManager]:
    o = state(ctx).offload()
    return o, ModelManager.from_engine(o.engine)


class _PullBars:
    """Rich progress bars fed by setup events (one bar per model, bytes summed over its blobs)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self.blobs: dict[str, dict[str, tuple[int, int]]] = {}

    def __call__(self, ev: OpsEvent) -> None:
        if ev.kind == "check" and ev.check is not None:
            c = ev.check
            mark = "[green]✓[/]" if c.ok else "[red]✗[/]"
            line = f"{mark} backend [bold]{c.name}[/] ({c.kind}): {c.detail}"
            self.progress.console.print(line, highlight=False)
            if c.hint:
                self.progress.console.print(f"  [yellow]how to fix:[/] {c.hint}", highlight=False)
        elif ev.kind == "start" and ev.model:
            self.tasks[ev.model] = self.progress.add_task(f"{ev.model}: starting", total=None)
            self.blobs[ev.model] = {}
        elif ev.kind == "progress" and ev.model in self.tasks and ev.progress is not None:
            p, task = ev.progress, self.tasks[ev.model]
            if p.digest and p.total:
                self.blobs[ev.model][p.digest] = (p.completed or 0, p.total)
            done = sum(c for c, _ in self.blobs[ev.model].values())
            total = sum(t for _, t in self.blobs[ev.model].values()) or None
            status = "pulling" if p.digest else p.status
            self.progress.update(task, description=f"{ev.model}: {status}", completed=done, total=total)
        elif ev.kind == "resume" and ev.model:
            self.progress.console.print(f"[yellow]↻ {ev.model}:[/] {ev.detail}", highlight=False)
        elif ev.kind == "done" and ev.outcome is not None:
            o = ev.outcome
            if o.model in self.tasks:
                style = _STATUS_STYLE[o.status]
                self.progress.update(self.tasks[o.model], description=f"{o.model}: [{style}]{o.status}[/]")


def _outcomes_table(report: SetupReport) -> Table:
    t = Table("model", "backend", "result", "detail", title="setup")
    for o in report.outcomes:
        style = _STATUS_STYLE[o.status]
        show_hint = o.hint and o.status == "failed" and not o.detail.endswith("is down")  # said once above
        detail = o.detail + (f"\n[yellow]fix:[/] {o.hint}" if show_hint else "")
        t.add_row(o.model, o.backend, f"[{style}]{o.status}[/]", detail)
    return t


def setup(
    ctx: typer.Context,
    optional: bool = typer.Option(False, "--optional", help="Also pull the models marked required = false."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (no progress bars)."),
    inventory: str | None = typer.Option(
        None,
        "--inventory",
        help="First install a bundled example inventory as the config file: gpu-32gb, gpu-24gb, gpu-12gb, "
        "cpu-only, or auto (the one for the detected GPU).",
    ),
    force: bool = typer.Option(
        False, "--force", help="With --inventory: replace a different config file (kept as .bak)."
    ),
) -> None:
    """Check the backends, pull the inventory's models with progress, verify them, show the inventory."""
    if inventory is not None:
        _install_inventory(ctx, inventory, force=force, quiet=as_json)
    o, manager = _manager(ctx)
    if as_json:
        report = o.call(manager.setup(optional=optional))
        print_json({"checks": [asdict(c) for c in report.checks], "models": [asdict(x) for x in report.outcomes]})
        raise typer.Exit(0 if report.ok else 1)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        report = o.call(manager.setup(optional=optional, on_event=_PullBars(progress)))
    console.print(_outcomes_table(report))
    from offload.cli.models import models as models_cmd

    models_cmd(ctx, as_json=False)
    if not report.ok:
        console.print("[red]some required models are not ready[/] — fix the problems above and run `offload setup`")
        raise typer.Exit(1)


def _install_inventory(ctx: typer.Context, name: str, *, force: bool, quiet: bool) -> None:
    """``setup --inventory``: write the bundled inventory where the config is read, then use it."""
    st = state(ctx)
    chosen = choose_inventory(name, detect_gpus)
    target = Path(st.config_path or os.environ.get("OFFLOAD_CONFIG") or default_config_path()).expanduser()
    done = install_inventory(chosen, target, force=force)
    st.config_path = str(done.path)
    if quiet:
        return
    if done.unchanged:
        console.print(f"inventory {chosen}: {done.path} already holds it", highlight=False)
    else:
        kept = f" (the previous file is kept as {done.backup})" if done.backup else ""
        console.print(f"installed the {chosen} inventory as {done.path}{kept}", highlight=False)


def _plan_table(plan: Plan) -> Table:
    t = Table("phase", "models (GB)", "total", "fits", "load / unload", title=f"workflow {plan.workflow.name!r}")
    for p in plan.phases:
        models = ", ".join(f"{m.name} {m.vram_gb:.1f}" if m.uses_memory else f"{m.name} (no VRAM)" for m in p.models)
        if p.missing:
            models += f"\n[red]missing: {', '.join(p.missing)}[/]"
        fits = "[green]yes[/]" if p.fits else f"[red]over by {p.overflow_gb:.1f}[/]"
        moves = " ".join([*(f"+{n}" for n in p.loads), *(f"-{n}" for n in p.unloads)])
        t.add_row(p.phase.name, models or "-", f"{p.total_gb:.1f}", fits, moves)
    return t


def plan(
    ctx: typer.Context,
    workflow: str | None = typer.Option(None, "--workflow", "-w", help="A workflow TOML file (default: built-in)."),
    budget: float | None = typer.Option(None, "--budget", min=0, help="Plan against this many GB."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check each phase of a workflow against the (V)RAM budget; suggest fixes for phases that overflow."""
    cfg = load_config(state(ctx).config_path)
    wf = load_workflow(workflow) if workflow else DEFAULT_WORKFLOW
    report = detect_gpus()
    b = resolve_budget(cfg, report, override_gb=budget)
    local = {n for n, bc in cfg.backends.items() if not bc.is_cloud}
    result = plan_workflow(wf, cfg.models, b.gb, local_backends=local)
    if as_json:
        print_json(
            {
                "budget": asdict(b),
                "fits": result.fits,
                "peak_gb": result.peak_gb,
                "phases": [asdict(p) | {"fits": p.fits, "overflow_gb": p.overflow_gb} for p in result.phases],
            }
        )
        return
    console.print(f"budget: [bold]{b.gb:.1f} GB {b.device}[/] ({b.detail})", highlight=False)
    console.print(_plan_table(result))
    for p in result.phases:
        if p.suggestions:
            console.print(f"[bold]{p.phase.name}[/]:", highlight=False)
            for s in p.suggestions:
                mark = "[green]→[/]" if s.resolves else "·"
                console.print(f"  {mark} {s.text}", highlight=False)
    verdict = "[green]every phase fits[/]" if result.fits else "[yellow]some phases do not fit: see above[/]"
    console.print(f"{verdict} (peak {result.peak_gb:.1f} of {b.gb:.1f} GB)", highlight=False)


def ps(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Models loaded in memory now: VRAM each and when they expire."""
    o, manager = _manager(ctx)
    rows = o.call(manager.ps())
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    if not rows:
        console.print("no model is loaded (load one with `offload load MODEL`)")
        return
    t = Table("model", "backend", "VRAM GB", "size GB", "context", "expires", title="loaded models")
    for r in rows:
        name = r.name if r.in_inventory else f"{r.name} [dim](not in inventory)[/]"
        size = f"{r.size_gb:.1f}" if r.size_gb is not None else "?"
        t.add_row(name, r.backend, f"{r.vram_gb:.1f}", size, str(r.context_window or "?"), r.expires_in)
    console.print(t)
    console.print(f"total: {sum(r.vram_gb for r in rows):.1f} GB", highlight=False)


def load(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Inventory model name."),
    keep_alive: str | None = typer.Option(
        None, "--keep-alive", "-k", help="How long to keep it: 30m, 1h, seconds, -1 = forever (default: config)."
    ),
) -> None:
    """Load a model into memory now and keep it for --keep-alive."""
    o, manager = _manager(ctx)
    used = o.call(manager.load(model, keep_alive))
    forever = used == -1 or (isinstance(used, str) and used.startswith("-"))
    console.print(f"loaded {model}, kept {'until unloaded' if forever else f'for {used}'} after its last use")


def unload(ctx: typer.Context, model: str = typer.Argument(..., help="Inventory model name.")) -> None:
    """Unload a model from memory now."""
    o, manager = _manager(ctx)
    o.call(manager.unload(model))
    console.print(f"unloaded {model}")


def gpu(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Detected GPUs (nvidia-smi), the planning budget, and the example inventory that suits them."""
    cfg = load_config(state(ctx).config_path)
    report = detect_gpus()
    b = resolve_budget(cfg, report)
    suggestion = choose_inventory("auto", lambda: report)
    if as_json:
        print_json(
            {
                "gpus": [asdict(g) for g in report.gpus],
                "detail": report.detail,
                "budget": asdict(b),
                "suggested_inventory": str(inventory_path(suggestion)),
            }
        )
        return
    if report.cpu_only:
        console.print(f"no GPU: {report.detail}", highlight=False)
    else:
        t = Table("index", "name", "total GB", "used GB", "free GB", title=report.detail)
        for g in report.gpus:
            t.add_row(str(g.index), g.name, f"{g.total_gb:.1f}", f"{g.used_gb:.1f}", f"{g.free_gb:.1f}")
        console.print(t)
    console.print(f"budget: [bold]{b.gb:.1f} GB {b.device}[/] ({b.detail})", highlight=False)
    console.print(f"suggested inventory: {inventory_path(suggestion)}", highlight=False, soft_wrap=True)
