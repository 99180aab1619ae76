"""Knowledge-base priming: project notes (``--context FILE|DIR``) trimmed to fit the model's window.

Files are cut into chunks at natural seams (Markdown headings, top-level Python definitions, blank-line
paragraphs), each chunk is scored against the task (shared words, weighted by rarity across the chunks, plus
a bonus when the chunk's file is named in the task), and the best chunks are kept until the token budget is
spent. Kept chunks are shown in their original order under their file name, so the model reads coherent notes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from offload.errors import InvalidRequest
from offload.types import ChatRequest, estimate_tokens

if TYPE_CHECKING:
    from offload.engine import Engine

__all__ = ["Chunk", "ContextPack", "build_context", "chunk_text", "collect_files", "context_budget"]

_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache",
              ".ruff_cache", "dist", "build", ".tox", ".idea", ".vscode"}  # fmt: skip
_TEXT_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".py", ".pyi", ".toml", ".cfg", ".ini", ".yaml", ".yml",
                  ".json", ".js", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".kt", ".c", ".h", ".cpp", ".hpp",
                  ".rb", ".php", ".sh", ".sql", ".html", ".css", ".adoc", ""}  # fmt: skip
_MAX_FILE_BYTES = 1_000_000
_MAX_FILES = 2_000
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]+")
_SEAM = re.compile(r"^(?:#{1,6} |(?:async )?def |class |@)", re.M)
_STOP = frozenset(
    ("the", "and", "for", "with", "that", "this", "from", "are", "was", "were", "not", "but", "you", "your", "have",
     "has", "can", "will", "its", "into", "use", "used", "using", "when", "then", "than", "also", "any", "all",
     "each", "one", "two", "our", "out", "should", "must", "may")
)  # fmt: skip


@dataclass(frozen=True)
class Chunk:
    """A piece of one context file."""

    path: str
    start_line: int
    end_line: int
    text: str

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text) + 8  # plus its header line


@dataclass(frozen=True)
class ContextPack:
    """The context that fits: the text to put in the prompt and what was left out."""

    text: str
    kept: tuple[Chunk, ...]
    dropped: int
    tokens: int

    @property
    def empty(self) -> bool:
        return not self.kept


def collect_files(paths: Sequence[str | Path]) -> list[Path]:
    """Text files under ``paths`` (a file or a directory, walked recursively; VCS and build dirs skipped)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InvalidRequest(f"context path {str(p)!r} does not exist", hint="pass an existing file or directory")
        if p.is_file():
            out.append(p)
            continue
        for f in sorted(p.rglob("*")):
            if any(part in _SKIP_DIRS or part.startswith(".") for part in f.relative_to(p).parts[:-1]):
                continue
            if f.is_file() and f.suffix.lower() in _TEXT_SUFFIXES and not f.name.startswith("."):
                out.append(f)
            if len(out) > _MAX_FILES:
                raise InvalidRequest(f"context directory {str(p)!r} holds more than {_MAX_FILES} files",
                                     hint="point --context at the docs or notes folder, not the whole tree")  # fmt: skip
    return out


def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()[:_MAX_FILE_BYTES]
    except OSError as exc:
        raise InvalidRequest(f"cannot read context file {str(path)!r}: {exc.strerror}") from exc
    if b"\x00" in data[:4096]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def chunk_text(path: str, text: str, *, max_lines: int = 40) -> list[Chunk]:
    """Cut ``text`` at headings / top-level definitions / blank lines into chunks of at most ``max_lines``."""
    lines = text.splitlines()
    chunks: list[Chunk] = []
    start = 0

    def close(end: int) -> None:
        body = "\n".join(lines[start:end]).strip("\n")
        if body.strip():
            chunks.append(Chunk(path, start + 1, end, body))

    for i, line in enumerate(lines):
        seam = i > start and (_SEAM.match(line) or (not line.strip() and i - start >= max_lines // 2))
        if seam or i - start >= max_lines:
            close(i)
            start = i
    close(len(lines))
    return chunks


def _terms(text: str) -> list[str]:
    words = []
    for w in _WORD.findall(text):
        for part in re.split(r"_|(?<=[a-z])(?=[A-Z])", w):
            p = part.lower()
            if len(p) > 2 and p not in _STOP:
                words.append(p)
    return words


def _scores(chunks: Sequence[Chunk], query: str) -> list[float]:
    q = Counter(_terms(query))
    if not q:
        return [0.0] * len(chunks)
    docs = [Counter(_terms(c.text)) for c in chunks]
    df = Counter(t for d in docs for t in d)
    n = len(docs)
    out = []
    for c, d in zip(chunks, docs, strict=True):
        s = sum(min(d[t], 3) * math.log(1 + n / df[t]) * min(w, 2) for t, w in q.items() if t in d)
        s /= math.sqrt(max(1, sum(d.values())) / 50 + 1)  # do not let long chunks win by length alone
        if Path(c.path).name in query or Path(c.path).stem in query:
            s += 2.0
        out.append(s)
    return out


def build_context(paths: Iterable[str | Path], query: str, budget_tokens: int) -> ContextPack:
    """The most relevant parts of the files under ``paths`` for ``query``, within ``budget_tokens``."""
    files = collect_files(list(paths))
    chunks: list[Chunk] = []
    for f in files:
        text = _read(f)
        if text:
            chunks.extend(chunk_text(str(f), text))
    if budget_tokens <= 0 or not chunks:
        return ContextPack("", (), len(chunks), 0)
    scores = _scores(chunks, query)
    order = sorted(range(len(chunks)), key=lambda i: (-scores[i], i))
    kept: set[int] = set()
    used = 0
    for i in order:
        cost = chunks[i].tokens
        if used + cost <= budget_tokens:
            kept.add(i)
            used += cost
    chosen = [chunks[i] for i in sorted(kept)]
    parts: list[str] = []
    current = None
    for c in chosen:
        if c.path != current:
            parts.append(f"### {c.path}")
            current = c.path
        parts.append(f"(lines {c.start_line}-{c.end_line})\n{c.text}")
    text = "\n\n".join(parts)
    return ContextPack(text, tuple(chosen), len(chunks) - len(chosen), used)


def context_budget(engine: Engine, kind: str, prompt: str, *, max_tokens: int, reserve: int = 256) -> int:
    """Tokens left for context in the smallest window of the models the task would be routed to."""
    request = ChatRequest.from_prompt(prompt, metadata={"kind": kind})
    try:
        route = engine.resolve(request)
        windows = [c.model.context_window for c in route.candidates]
    except Exception:  # no route: the run will say why; budget by the inventory instead
        windows = [m.context_window for m in engine.config.models]
    window = min(windows) if windows else 8192
    return max(0, window - estimate_tokens(prompt) - max_tokens - reserve)
