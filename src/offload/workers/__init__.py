"""Workers for delegated jobs: builder, fixtures, mock API, review, vision pre-screen, memory, training data.

Each worker is a prompt, an output schema and verifiers, run through the verified cascade (journaled,
metered, signed). Use the functions of each module with an :class:`~offload.engine.Engine`, or the
:class:`Workers` facade over an :class:`~offload.api.Offload` (sync methods, plus ``a``-prefixed async twins)::

    from offload import Offload
    from offload.workers import Workers

    with Offload() as o:
        w = Workers(o)
        result = w.build("task.json")                 # verified suggestion + diff
        w.fixtures({"type": "object", ...}, 50, "users.jsonl", unique=["email"])
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from offload.api import Offload
    from offload.workers.builder import BuildResult
    from offload.workers.fixtures import FixturesResult, Progress
    from offload.workers.memory import Recalled
    from offload.workers.mock_api import MockResult
    from offload.workers.provenance_check import VerifyReport
    from offload.workers.review import ReviewResult
    from offload.workers.vision import VisionResult

__all__ = ["Workers"]
T = TypeVar("T")


class Workers:
    """The workers over one :class:`~offload.api.Offload` (its engine, journal and event loop)."""

    def __init__(self, offload: Offload) -> None:
        self.offload = offload
        self.engine = offload.engine

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.offload.call(coro)

    # -- async ----------------------------------------------------------------------------------------------
    async def abuild(self, task: str | Path, *, root: str | Path | None = None, context: Sequence[str | Path] = (),
                     model: str = "auto") -> BuildResult:  # fmt: skip
        """Load ``task`` (a task.json path) and build a verified suggestion."""
        from offload.workers.builder import build, load_task

        return await build(self.engine, load_task(task, root), context=list(context), model=model)

    async def afixtures(self, schema: dict[str, Any], count: int, out: str | Path, *, batch_size: int = 10,
                        seed: int | None = None, unique: Sequence[str] = (), instructions: str = "",
                        on_progress: Progress | None = None) -> FixturesResult:  # fmt: skip
        """Fill ``out`` with ``count`` valid, unique records (resumable)."""
        from offload.workers.fixtures import generate_fixtures

        return await generate_fixtures(self.engine, schema, count, out, batch_size=batch_size, seed=seed,
                                       unique=unique, instructions=instructions, on_progress=on_progress)  # fmt: skip

    async def amock(self, request_line: str, *, schema: dict[str, Any] | None = None) -> MockResult:
        """A realistic JSON response to ``request_line``."""
        from offload.workers.mock_api import mock_response

        return await mock_response(self.engine, request_line, schema=schema)

    async def areview(
        self, files: Sequence[str | Path] = (), *, diff: str | None = None, focus: str = ""
    ) -> ReviewResult:
        """Review files, or a unified diff text."""
        from offload.workers.review import diff_segments, file_segments, review

        segments = diff_segments(diff) if diff is not None else file_segments(list(files))
        return await review(self.engine, segments, focus=focus)

    async def avision(self, image: str | Path, *, prompt: str | None = None) -> VisionResult:
        """Pre-screen a screenshot."""
        from offload.workers.vision import screen

        return await screen(self.engine, image, prompt=prompt)

    async def aremember(self, text: str, *, source: str | None = None) -> int:
        """Store a note; returns its id."""
        from offload.workers.embeddings import choose_embedder
        from offload.workers.memory import Memory

        mem = Memory(choose_embedder(self.engine))
        try:
            note, _ = await mem.remember(text, source=source)
            return note.id
        finally:
            mem.close()

    async def arecall(self, query: str, k: int = 5) -> list[Recalled]:
        """The ``k`` notes closest to ``query``."""
        from offload.workers.embeddings import choose_embedder
        from offload.workers.memory import Memory

        mem = Memory(choose_embedder(self.engine))
        try:
            return await mem.recall(query, k)
        finally:
            mem.close()

    # -- sync -----------------------------------------------------------------------------------------------
    def build(self, task: str | Path, **kw: Any) -> BuildResult:
        return self.call(self.abuild(task, **kw))

    def fixtures(self, schema: dict[str, Any], count: int, out: str | Path, **kw: Any) -> FixturesResult:
        return self.call(self.afixtures(schema, count, out, **kw))

    def mock(self, request_line: str, **kw: Any) -> MockResult:
        return self.call(self.amock(request_line, **kw))

    def review(self, files: Sequence[str | Path] = (), **kw: Any) -> ReviewResult:
        return self.call(self.areview(files, **kw))

    def vision(self, image: str | Path, **kw: Any) -> VisionResult:
        return self.call(self.avision(image, **kw))

    def remember(self, text: str, **kw: Any) -> int:
        return self.call(self.aremember(text, **kw))

    def recall(self, query: str, k: int = 5) -> list[Recalled]:
        return self.call(self.arecall(query, k))

    def verify(self, target: str) -> VerifyReport:
        """Check a provenance record (file, record file or id) against the journal."""
        from offload.workers.provenance_check import verify_target

        return verify_target(target, journal=self.engine.journal)
