"""Training data: ``offload export --verified --format jsonl`` → prompt/completion pairs from the journal.

Only finished (``ok``) entries are exported; ``verified_only`` keeps those whose answer passed its checks —
the pairs worth fine-tuning a local model on. Text-only conversations are exported (entries with images or
tool calls are skipped), every string is redacted again on the way out, duplicates are dropped, and the file
is written atomically. Formats: ``jsonl`` (``{"prompt", "completion"}``) and ``chat``
(``{"messages": [...]}`` with the answer as the last assistant message).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from offload.errors import InvalidRequest
from offload.redact import Redactor, default_redactor
from offload.workers import atomic

if TYPE_CHECKING:
    from offload.store.entries import JournalEntry
    from offload.store.journal import Journal

__all__ = ["FORMATS", "ExportResult", "export_training_data", "training_pairs"]

Format = Literal["jsonl", "chat"]
FORMATS: tuple[str, ...] = ("jsonl", "chat")
_PAGE = 500


@dataclass
class ExportResult:
    """What an export wrote."""

    path: Path
    format: str
    written: int
    skipped: int
    journal_ids: list[str]


def _text(content: Any) -> str | None:
    """The text of a journaled message's content, or None when it holds anything but text."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            return None
        parts.append(str(part.get("text", "")))
    return "".join(parts)


def _conversation(entry: JournalEntry, red: Redactor) -> list[dict[str, str]] | None:
    req = entry.request or {}
    answer = (entry.response or {}).get("content")
    if not isinstance(answer, str) or not answer.strip() or (entry.response or {}).get("tool_calls"):
        return None
    messages: list[dict[str, str]] = []
    if req.get("system"):
        messages.append({"role": "system", "content": red.text(str(req["system"]))})
    for m in req.get("messages") or []:
        if not isinstance(m, dict) or m.get("tool_calls") or m.get("role") not in ("system", "user", "assistant"):
            return None
        text = _text(m.get("content"))
        if text is None:
            return None
        messages.append({"role": m["role"], "content": red.text(text)})
    if not any(m["role"] == "user" for m in messages):
        return None
    messages.append({"role": "assistant", "content": red.text(answer)})
    return messages


def _prompt_text(messages: list[dict[str, str]]) -> str:
    turns = messages[:-1]
    if len(turns) == 1 or (len(turns) == 2 and turns[0]["role"] == "system"):
        return "\n\n".join(t["content"] for t in turns)
    return "\n\n".join(f"{t['role']}: {t['content']}" for t in turns)


def _entries(journal: Journal, kind: str | None, since: datetime | None, limit: int) -> Iterator[JournalEntry]:
    offset = 0
    while offset < limit:
        page = journal.list(status="ok", kind=kind, since=since, limit=min(_PAGE, limit - offset), offset=offset)
        yield from page
        if len(page) < _PAGE:
            return
        offset += len(page)


def training_pairs(
    journal: Journal,
    *,
    fmt: Format = "jsonl",
    verified_only: bool = True,
    kind: str | None = None,
    since: datetime | None = None,
    limit: int = 100_000,
    redactor: Redactor | None = None,
) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """``(journal_id, record)`` for each finished entry; ``record`` is None when the entry is skipped."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown export format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    red = redactor or default_redactor()
    seen: set[str] = set()
    for entry in _entries(journal, kind, since, limit):
        if verified_only and entry.verdict != "verified":
            yield entry.id, None
            continue
        messages = _conversation(entry, red)
        if messages is None:
            yield entry.id, None
            continue
        record: dict[str, Any]
        if fmt == "chat":
            record = {"messages": messages}
        else:
            record = {"prompt": _prompt_text(messages), "completion": messages[-1]["content"]}
        key = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        if key in seen:
            yield entry.id, None
            continue
        seen.add(key)
        yield entry.id, record


def export_training_data(
    journal: Journal,
    out: str | Path,
    *,
    fmt: Format = "jsonl",
    verified_only: bool = True,
    kind: str | None = None,
    since: datetime | None = None,
    limit: int = 100_000,
) -> ExportResult:
    """Write the pairs to ``out`` atomically (oldest first); an empty export is an error, nothing written."""
    path = Path(out)
    if not path.parent.is_dir():
        raise InvalidRequest(f"the directory of {str(path)!r} does not exist", hint="create it or choose another --out")
    rows: list[tuple[str, dict[str, Any]]] = []
    skipped = 0
    for jid, record in training_pairs(journal, fmt=fmt, verified_only=verified_only, kind=kind, since=since,
                                      limit=limit):  # fmt: skip
        if record is None:
            skipped += 1
        else:
            rows.append((jid, record))
    if not rows:
        what = "verified " if verified_only else ""
        raise InvalidRequest(f"the journal holds no {what}text answers to export ({skipped} entries skipped)",
                             hint="run some tasks first (offload run / build / fixtures), or drop --verified")  # fmt: skip
    rows.reverse()  # the journal lists newest first; training files read naturally oldest first
    atomic.write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for _, r in rows))
    return ExportResult(path, fmt, len(rows), skipped, [jid for jid, _ in rows])
