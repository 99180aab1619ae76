"""``offload export | modelfile | create``: training data from verified work, and custom models on Ollama."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from offload.cli.common import console, err_console, print_json, state
from offload.errors import InvalidRequest


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("modelfile")(modelfile)
    app.command("create")(create)


def export(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (atomically); default: stdout."),
    verified: bool = typer.Option(True, "--verified/--all", help="Only answers that passed their checks."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl (prompt/completion) or chat (messages)."),
    kind: str | None = typer.Option(None, "--kind", help="Only this task kind (e.g. code_generation)."),
    since: str | None = typer.Option(None, "--since", help="Only entries since, e.g. 7d or 2026-11-01."),
    limit: int = typer.Option(100_000, "--limit", min=1),
    sign: bool = typer.Option(True, "--sign/--no-sign", help="Write a signed provenance record beside --out."),
) -> None:
    """Export prompt/completion pairs from the journal (redacted) for fine-tuning."""
    from offload.workers.export import FORMATS, export_training_data, training_pairs

    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown --format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    from offload.cli.log import parse_since

    when = parse_since(since)
    journal = state(ctx).offload().engine.journal
    if out is None:
        import json

        n = 0
        for _, record in training_pairs(journal, fmt=fmt, verified_only=verified, kind=kind, since=when,  # type: ignore[arg-type]
                                        limit=limit):  # fmt: skip
            if record is not None:
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
                n += 1
        err_console.print(f"{n} pair(s) exported", style="dim", highlight=False)
        return
    result = export_training_data(journal, out, fmt=fmt, verified_only=verified, kind=kind, since=when,  # type: ignore[arg-type]
                                  limit=limit)  # fmt: skip
    if sign:
        from offload.workers.provenance import sign_artifact

        sign_artifact(out, "export", result.journal_ids, format=fmt, verified_only=verified)
    console.print(f"{out}: {result.written} pair(s), {result.skipped} entr(y/ies) skipped", highlight=False)


def modelfile(
    base: str = typer.Option(..., "--from", help="The model to build on, e.g. llama3.2 or qwen2.5-coder:7b."),
    system: Path | None = typer.Option(None, "--system", help="A file holding the system prompt."),
    param: list[str] = typer.Option([], "--param", help="A parameter as key=value (repeatable), e.g. temperature=0.2."),
    template: Path | None = typer.Option(None, "--template", help="A file holding a prompt template."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (atomically); default: stdout."),
) -> None:
    """Write an Ollama Modelfile (parameters checked against the ones Ollama accepts)."""
    from offload.workers import atomic
    from offload.workers.common import read_text_file
    from offload.workers.modelfile import render_modelfile

    text = render_modelfile(
        base,
        system=read_text_file(system, "system prompt file").strip() if system else None,
        params=param,
        template=read_text_file(template, "template file") if template else None,
    )
    if out is None:
        sys.stdout.write(text)
        return
    atomic.write_text(out, text)
    console.print(f"wrote {out}; create it with `offload create NAME --modelfile {out}`", highlight=False)


def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the new model, e.g. reviewer:latest."),
    modelfile_path: Path = typer.Option(..., "--modelfile", "-f", help="The Modelfile."),
    backend: str | None = typer.Option(None, "--backend", help="The Ollama backend (default: the first one)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a model on Ollama from a Modelfile."""
    from offload.workers.common import read_text_file
    from offload.workers.modelfile import create_model

    text = read_text_file(modelfile_path, "Modelfile")
    o = state(ctx).offload()
    seen: list[str] = []
    status = o.call(create_model(o.engine, name, text, backend=backend, on_status=seen.append))
    if as_json:
        print_json({"model": name, "status": status, "steps": seen})
    else:
        console.print(f"created {name} ({len(seen)} step(s)); add it to offload.toml to route to it", highlight=False)
