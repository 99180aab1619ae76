"""Session memory: ``offload remember TEXT|--file F`` and ``offload recall "query" [-k N]``.

Notes are stored in SQLite (``<offload home>/memory.db``, WAL) with one vector per note and embedder
(:mod:`offload.workers.embeddings`); recall embeds the query, fills in vectors the current embedder has not
made yet (so switching embedders needs no migration), and ranks notes by cosine similarity. A file is stored
as paragraphs (each a note citing its lines), since embedders read a few hundred tokens at most.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offload.errors import InvalidRequest
from offload.workers.common import offload_home, read_text_file
from offload.workers.embeddings import Embedder

__all__ = ["Memory", "Note", "Recalled", "split_paragraphs"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, source TEXT, "
    "created_at REAL NOT NULL, sha256 TEXT NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS vectors (note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE, "
    "embedder TEXT NOT NULL, dims INTEGER NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (note_id, embedder))",
)
MAX_NOTE_CHARS = 20_000


@dataclass(frozen=True)
class Note:
    """A stored note."""

    id: int
    text: str
    source: str | None
    created_at: float


@dataclass(frozen=True)
class Recalled:
    """A note and how close it is to the query (cosine similarity, -1..1)."""

    note: Note
    score: float


def split_paragraphs(text: str, *, max_words: int = 150) -> list[tuple[int, int, str]]:
    """``(first_line, last_line, text)`` pieces of at most ``max_words`` words, cut at blank lines."""
    out: list[tuple[int, int, str]] = []
    buf: list[tuple[int, str]] = []

    def flush() -> None:
        if buf:
            out.append((buf[0][0], buf[-1][0], "\n".join(line for _, line in buf).strip()))
            buf.clear()

    words = 0
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if words >= max_words // 3:
                flush()
                words = 0
            continue
        if buf and words + len(line.split()) > max_words:
            flush()
            words = 0
        buf.append((n, line))
        words += len(line.split())
    flush()
    return [p for p in out if p[2]]


class Memory:
    """The note store with one embedder."""

    def __init__(self, embedder: Embedder, path: str | Path | None = None) -> None:
        self.embedder = embedder
        self.path = Path(path) if path else offload_home() / "memory.db"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise InvalidRequest(f"cannot open the memory store {str(self.path)!r}: {exc}",
                                 hint="set OFFLOAD_HOME to a writable directory") from exc  # fmt: skip
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            for stmt in _SCHEMA:
                self._conn.execute(stmt)

    def close(self) -> None:
        self._conn.close()

    # -- writing -------------------------------------------------------------------------------------------
    async def remember(self, text: str, *, source: str | None = None) -> tuple[Note, bool]:
        """Store ``text`` (with its vector); returns the note and whether it is new (same text = same note)."""
        text = text.strip()
        if not text:
            raise InvalidRequest("nothing to remember: the text is empty", hint="pass some text or --file")
        if len(text) > MAX_NOTE_CHARS:
            raise InvalidRequest(f"the note is {len(text):,} characters (limit {MAX_NOTE_CHARS:,})",
                                 hint="store a file with --file: it is split into paragraphs")  # fmt: skip
        digest = hashlib.sha256(text.encode()).hexdigest()
        existing = self._one("SELECT id, text, source, created_at FROM notes WHERE sha256 = ?", (digest,))
        if existing is not None:
            return existing, False
        vector = (await self.embedder.embed([text]))[0]
        with self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO notes (text, source, created_at, sha256) VALUES (?, ?, ?, ?)",
                (text, source, time.time(), digest),
            )
            note_id = int(cur.lastrowid or 0)
            self._store_vector(note_id, vector)
        note = self._one("SELECT id, text, source, created_at FROM notes WHERE id = ?", (note_id,))
        assert note is not None
        return note, True

    async def remember_file(self, path: str | Path) -> list[tuple[Note, bool]]:
        """Store a text file as paragraph notes (source ``file:first-last``)."""
        text = read_text_file(path, "file to remember")
        pieces = split_paragraphs(text)
        if not pieces:
            raise InvalidRequest(f"{str(path)!r} holds no text to remember")
        return [await self.remember(body, source=f"{Path(path).name}:{a}-{b}") for a, b, body in pieces]

    def forget(self, note_id: int) -> bool:
        """Delete a note; False when there is no such note."""
        with self._lock, self._conn:
            return self._conn.execute("DELETE FROM notes WHERE id = ?", (note_id,)).rowcount > 0

    def _store_vector(self, note_id: int, vector: Sequence[float]) -> None:
        arr = np.asarray(vector, dtype=np.float32)
        self._conn.execute(
            "INSERT OR REPLACE INTO vectors (note_id, embedder, dims, vec) VALUES (?, ?, ?, ?)",
            (note_id, self.embedder.id, int(arr.shape[0]), arr.tobytes()),
        )

    # -- reading -------------------------------------------------------------------------------------------
    def _one(self, sql: str, args: tuple[object, ...]) -> Note | None:
        with self._lock:
            row = self._conn.execute(sql, args).fetchone()
        return Note(*row) if row else None

    def notes(self, limit: int = 100) -> list[Note]:
        """The newest notes first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, text, source, created_at FROM notes ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Note(*r) for r in rows]

    async def _backfill(self) -> None:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, text FROM notes WHERE id NOT IN (SELECT note_id FROM vectors WHERE embedder = ?)",
                (self.embedder.id,),
            ).fetchall()
        for i in range(0, len(rows), 32):
            batch = rows[i : i + 32]
            vectors = await self.embedder.embed([t for _, t in batch])
            with self._lock, self._conn:
                for (note_id, _), vec in zip(batch, vectors, strict=True):
                    self._store_vector(note_id, vec)

    async def recall(self, query: str, k: int = 5) -> list[Recalled]:
        """The ``k`` notes closest to ``query``, best first."""
        if not query.strip():
            raise InvalidRequest("the query is empty", hint='pass what to look for, e.g. offload recall "test setup"')
        if k < 1:
            raise InvalidRequest(f"k must be at least 1, got {k}")
        await self._backfill()
        q = np.asarray((await self.embedder.embed([query]))[0], dtype=np.float32)
        with self._lock:
            rows = self._conn.execute(
                "SELECT n.id, n.text, n.source, n.created_at, v.dims, v.vec FROM notes n "
                "JOIN vectors v ON v.note_id = n.id AND v.embedder = ?",
                (self.embedder.id,),
            ).fetchall()
        rows = [r for r in rows if r[4] == q.shape[0]]
        if not rows:
            return []
        mat = np.stack([np.frombuffer(r[5], dtype=np.float32) for r in rows])
        norms = np.linalg.norm(mat, axis=1) * (float(np.linalg.norm(q)) or 1.0)
        scores = (mat @ q) / np.where(norms == 0, 1.0, norms)
        best = np.argsort(-scores, kind="stable")[:k]
        return [Recalled(Note(*rows[i][:4]), float(scores[i])) for i in best]
