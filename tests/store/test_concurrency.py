"""50 parallel writers — threads, tasks and processes — never see "database is locked"; the ledger adds up."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest

from offload.store import Journal, Ledger
from tests.store.helpers import attempt, one_request, process_worker


def _check(db_path: Path, results: list[tuple[str, int, int, float]]) -> None:
    with Journal(db_path) as j:
        assert j.integrity_check() == "ok"
        ids = [r[0] for r in results]
        assert len(set(ids)) == len(ids)
        stored = {e.id: e for e in j.list(limit=10_000)}
        assert set(stored) == set(ids)
        assert all(e.status == "ok" and len(e.attempts) == 2 for e in stored.values())
        total = Ledger(j).summary()
        assert total.requests == len(results) and total.attempts == 2 * len(results)
        assert total.tokens_local_in + total.tokens_cloud_in == sum(r[1] for r in results)
        assert total.tokens_local_out + total.tokens_cloud_out == sum(r[2] for r in results)
        assert total.tokens_local_in == total.tokens_cloud_in  # one local + one cloud attempt each
        assert total.cloud_spend_usd == pytest.approx(sum(r[3] for r in results))


def test_fifty_threads(db_path: Path) -> None:
    journal = Journal(db_path)
    barrier = threading.Barrier(50)
    results: list[Any] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            value = one_request(journal, "thread", i)
            with lock:
                results.append(value)
        except BaseException:
            with lock:
                errors.append(traceback.format_exc())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    assert errors == []
    _check(db_path, results)


async def test_fifty_tasks(db_path: Path) -> None:
    journal = Journal(db_path)

    async def run(i: int) -> tuple[str, int, int, float]:
        rid = await journal.abegin({"messages": [{"role": "user", "content": f"task {i}"}]}, source="test",
                                   model_requested="auto")  # fmt: skip
        tin, tout, cost = 100 + i, 10 + i, 0.001 * (i + 1)
        await journal.arecord_attempt(rid, attempt(1, tin=tin, tout=tout), cost_equiv_usd=0.0, local=True)
        await journal.arecord_attempt(rid, attempt(2, model="gpt-4o-mini", tin=tin, tout=tout),
                                      cost_equiv_usd=cost, local=False)  # fmt: skip
        await journal.afinish(rid, status="ok")
        return rid, 2 * tin, 2 * tout, cost

    results = await asyncio.gather(*(run(i) for i in range(50)))
    await journal.aclose()
    _check(db_path, list(results))


def _run_processes(db_path: Path, processes: int, threads: int) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=process_worker, args=(str(db_path), f"p{k}", threads, barrier, queue))
        for k in range(processes)
    ]
    for p in procs:
        p.start()
    outputs = [queue.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    flat = [r for _, out in outputs for r in out]
    errors = [r[1] for r in flat if r[0] == "error"]
    assert errors == [], errors[0]
    return flat


def test_fifty_writers_in_ten_processes(db_path: Path) -> None:
    """10 spawned processes × 5 threads, all opening the fresh file at once and writing together."""
    results = _run_processes(db_path, processes=10, threads=5)
    assert len(results) == 50
    _check(db_path, results)


@pytest.mark.slow
def test_fifty_processes(db_path: Path) -> None:
    """50 spawned processes, one request each (≈25 s on 2 cores: mostly interpreter start-up)."""
    results = _run_processes(db_path, processes=50, threads=1)
    assert len(results) == 50
    _check(db_path, results)
