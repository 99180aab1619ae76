"""Helpers for the store tests: child-process workers (importable, so ``spawn`` can run them) and fixtures."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

from offload.types import Attempt, Usage


def attempt(
    n: int,
    *,
    backend: str = "ollama",
    model: str = "qwen2.5-coder:7b",
    tin: int = 0,
    tout: int = 0,
    status: str = "ok",
    verdict: str = "not_run",
    latency: float = 0.0,
    detail: str = "",
) -> Attempt:
    """A journal attempt with the given token counts."""
    return Attempt(
        n=n, backend=backend, model=model, status=status, verdict=verdict,  # type: ignore[arg-type]
        detail=detail, latency_s=latency, usage=Usage(input_tokens=tin, output_tokens=tout),
    )  # fmt: skip


def one_request(journal: Any, tag: str, i: int) -> tuple[str, int, int, float]:
    """begin → local attempt → cloud attempt → finish; returns (id, tokens in, tokens out, cloud cost)."""
    rid = journal.begin(
        {"messages": [{"role": "user", "content": f"{tag} request {i}"}]}, source="test", model_requested="auto"
    )
    tin, tout, cost = 100 + i, 10 + i, 0.001 * (i + 1)
    journal.record_attempt(rid, attempt(1, tin=tin, tout=tout, verdict="failed"), cost_equiv_usd=0.0, local=True)
    journal.record_attempt(
        rid, attempt(2, backend="openai", model="gpt-4o-mini", tin=tin, tout=tout), cost_equiv_usd=cost, local=False
    )
    journal.finish(rid, status="ok", usage=Usage(input_tokens=tin, output_tokens=tout), model="gpt-4o-mini",
                   backend="openai", local=False, verdict="verified")  # fmt: skip
    return rid, 2 * tin, 2 * tout, cost


def process_worker(path: str, tag: str, threads: int, barrier: Any, results: Any) -> None:
    """Run in a spawned process: open the journal, wait for everyone, then ``threads`` requests at once."""
    from offload.store import Journal

    out: list[Any] = []
    lock = threading.Lock()
    try:
        journal = Journal(Path(path))
        barrier.wait(timeout=120)

        def run(i: int) -> None:
            try:
                value: Any = one_request(journal, tag, i)
            except BaseException:  # reported to the parent
                value = ("error", traceback.format_exc())
            with lock:
                out.append(value)

        pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        journal.close()
    except BaseException:
        out.append(("error", traceback.format_exc()))
    results.put((tag, out))
