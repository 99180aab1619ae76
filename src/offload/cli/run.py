"""``offload run``: one prompt through the router and the verified cascade."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from offload.cli.common import console, print_json, state
from offload.errors import InvalidRequest, NoRouteAvailable
from offload.types import ChatResponse, StreamEnd, TextDelta


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    ctx: typer.Context,
    prompt: str = typer.Argument(..., help="The prompt ('-' reads it from stdin)."),
    model: str = typer.Option(
        "auto", "--model", "-m", help="An inventory model, or auto / offload/local / offload/cloud."
    ),
    file: list[Path] = typer.Option([], "--file", "-f", help="Add a file's contents as context (repeatable)."),
    kind: str | None = typer.Option(None, "--kind", help="Task kind hint, e.g. code_generation, review, fixtures."),
    system: str | None = typer.Option(None, "--system", help="A system prompt."),
    schema: Path | None = typer.Option(None, "--schema", help="JSON schema the answer must validate against."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1),
    temperature: float | None = typer.Option(None, "--temperature", min=0.0, max=2.0),
    as_json: bool = typer.Option(False, "--json", help="Print the whole response as JSON."),
    stream: bool | None = typer.Option(
        None,
        "--stream/--no-stream",
        help="Stream tokens as they come (default: on a terminal, unless --json/--explain/--schema).",
    ),
    explain: bool = typer.Option(
        False, "--explain", help="Show the route: profile, each attempt and its verdict, why it stopped."
    ),
) -> None:
    """Run PROMPT on the cheapest adequate model; verify the answer; show it."""
    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise InvalidRequest("the prompt is empty", hint="pass a prompt, or '-' to read it from stdin")
    json_schema = None
    if schema is not None:
        try:
            json_schema = json.loads(schema.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidRequest(
                f"cannot read JSON schema {str(schema)!r}: {exc}", hint="pass a valid JSON file"
            ) from None
    o = state(ctx).offload()
    kw: dict[str, object] = {}
    if max_tokens is not None:
        kw["max_tokens"] = max_tokens
    if temperature is not None:
        kw["temperature"] = temperature
    if stream is None:
        stream = sys.stdout.isatty() and not (as_json or explain or schema)
    if stream and not (as_json or explain or json_schema):
        from offload.api import _with_files

        text = _with_files(prompt, file)
        final: ChatResponse | None = None
        for ev in o.stream(text, model=model, system=system, **kw):
            if isinstance(ev, TextDelta):
                sys.stdout.write(ev.text)
                sys.stdout.flush()
            elif isinstance(ev, StreamEnd):
                final = ev.response
        sys.stdout.write("\n")
        if final is not None:
            console.print(_footer(final), style="dim", highlight=False)
        return
    try:
        resp = o.run(prompt, model=model, kind=kind, system=system, files=file, json_schema=json_schema, **kw)
    except NoRouteAvailable as exc:
        if explain and exc.attempts:
            console.print(_attempts_table(exc.attempts))
        raise
    if as_json:
        print_json(resp.model_dump(mode="json", exclude={"raw"}))
        return
    if explain:
        route = o.route(prompt, model=model, kind=kind)
        console.rule("route")
        console.print(explain_route(route), highlight=False)
        console.rule("answer")
    console.print(resp.content, highlight=False, markup=False)
    if explain:
        console.rule("attempts")
        console.print(_attempts_table(resp.attempts))
        console.print(f"stopped because: {resp.route_reason or '-'}", highlight=False)
    console.print(_footer(resp), style="dim", highlight=False)


def _footer(resp: ChatResponse) -> str:
    tps = f"{resp.timings.tokens_per_s:.1f} tok/s" if resp.timings.tokens_per_s else "- tok/s"
    return (
        f"model {resp.model} ({resp.backend}) · {resp.usage.input_tokens} in / {resp.usage.output_tokens} out · "
        f"{tps} · {resp.timings.total_s:.2f}s · verdict {resp.verdict} · journal {resp.journal_id}"
    )


def _attempts_table(attempts: list) -> Table:  # type: ignore[type-arg]
    t = Table("#", "model", "backend", "status", "verdict", "latency", "tokens", "detail")
    for a in attempts:
        t.add_row(
            str(a.n),
            a.model,
            a.backend,
            a.status,
            a.verdict,
            f"{a.latency_s:.2f}s",
            f"{a.usage.input_tokens}/{a.usage.output_tokens}",
            (a.detail or "")[:80],
        )
    return t


def explain_route(route: object) -> str:
    """A human explanation of a route (profile, candidates, skip reasons)."""
    fn = getattr(route, "explain", None)
    if callable(fn):
        return str(fn())
    return str(route)
