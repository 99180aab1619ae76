"""``offload doctor``: each backend's health with a concrete fix hint, plus local prerequisites."""

from __future__ import annotations

import importlib.util

import typer
from rich.table import Table

from offload.cli.common import console, print_json, state


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Check every backend, the journal and the embedded model; say how to fix what is wrong."""
    o = state(ctx).offload()
    checks: list[dict[str, object]] = []
    for h in o.call(o.engine.health()):
        checks.append(
            {
                "check": f"backend {h.backend}",
                "ok": h.ok,
                "detail": h.detail,
                "latency_ms": round((h.latency_s or 0) * 1000, 1),
                "hint": h.hint,
            }
        )
    checks.append(
        {
            "check": "journal",
            "ok": o.engine.journal.integrity_check() == "ok",
            "detail": str(o.config.journal_path()),
            "hint": "delete or move a corrupt journal file",
        }
    )
    has_llama = importlib.util.find_spec("llama_cpp") is not None
    checks.append(
        {
            "check": "llama-cpp-python",
            "ok": has_llama,
            "detail": "embedded backend runtime",
            "hint": None if has_llama else "pip install llama-cpp-python",
        }
    )
    failed = [c for c in checks if not c["ok"]]
    if as_json:
        print_json(checks)
    else:
        t = Table("check", "ok", "detail", "fix")
        for c in checks:
            t.add_row(
                str(c["check"]),
                "[green]ok[/]" if c["ok"] else "[red]FAIL[/]",
                str(c["detail"])[:70],
                "" if c["ok"] else str(c["hint"] or ""),
            )
        console.print(t)
    if failed:
        raise typer.Exit(1)
