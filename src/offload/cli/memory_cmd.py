"""``offload remember | recall | forget``: session memory with embeddings, stored locally in SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from offload.cli.common import console, print_json, state
from offload.errors import InvalidRequest

if TYPE_CHECKING:
    from offload.api import Offload
    from offload.workers.memory import Memory

_EMBED_HELP = "Embedding model: an inventory model, 'builtin' (bundled MiniLM) or 'hash' (no model)."


def register(app: typer.Typer) -> None:
    app.command("remember")(remember)
    app.command("recall")(recall)
    app.command("forget")(forget)


def _memory(ctx: typer.Context, embed_model: str | None) -> tuple[Offload, Memory]:
    from offload.workers.embeddings import choose_embedder
    from offload.workers.memory import Memory

    o = state(ctx).offload()
    return o, Memory(choose_embedder(o.engine, embed_model))


def remember(
    ctx: typer.Context,
    text: str | None = typer.Argument(None, help="The note ('-' reads stdin)."),
    file: Path | None = typer.Option(None, "--file", "-f", help="Remember a file, split into paragraphs."),
    embed_model: str | None = typer.Option(None, "--embed-model", help=_EMBED_HELP),
) -> None:
    """Store a note (or a file) for later recall."""
    import sys

    if (text is None) == (file is None):
        raise InvalidRequest("pass either TEXT or --file", hint='offload remember "tests use pytest-asyncio"')
    if text == "-":
        text = sys.stdin.read()
    o, mem = _memory(ctx, embed_model)
    try:
        if file is not None:
            stored = o.call(mem.remember_file(file))
            new = sum(1 for _, fresh in stored if fresh)
            console.print(f"remembered {file}: {len(stored)} paragraph(s), {new} new", highlight=False)
        else:
            note, fresh = o.call(mem.remember(text or ""))
            console.print(f"{'remembered' if fresh else 'already remembered'} as note {note.id}", highlight=False)
    finally:
        mem.close()


def recall(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(5, "-k", min=1, max=100, help="How many notes."),
    embed_model: str | None = typer.Option(None, "--embed-model", help=_EMBED_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The notes closest in meaning to QUERY, best first."""
    o, mem = _memory(ctx, embed_model)
    try:
        hits = o.call(mem.recall(query, k))
    finally:
        mem.close()
    if as_json:
        print_json([{"id": h.note.id, "score": round(h.score, 4), "source": h.note.source, "text": h.note.text}
                    for h in hits])  # fmt: skip
        return
    if not hits:
        console.print("no notes yet: add some with `offload remember`")
        return
    t = Table("id", "score", "note", "source")
    for h in hits:
        t.add_row(str(h.note.id), f"{h.score:.3f}", escape(h.note.text[:200]), escape(h.note.source or ""))
    console.print(t)


def forget(
    ctx: typer.Context,
    note_id: int = typer.Argument(..., help="The note's id (from recall)."),
) -> None:
    """Delete a note."""
    from offload.workers.embeddings import HashEmbedder
    from offload.workers.memory import Memory

    mem = Memory(HashEmbedder())  # deleting needs no embedder
    try:
        if not mem.forget(note_id):
            raise InvalidRequest(f"there is no note {note_id}", hint="see the ids with offload recall")
    finally:
        mem.close()
    console.print(f"forgot note {note_id}", highlight=False)
