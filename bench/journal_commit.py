"""Journal commit benchmark: begin+finish throughput and per-operation latency, with and without group commit.

    .venv/bin/python bench/journal_commit.py [--requests 2000] [--callers 32] [--dir /path/on/the/real/disk]

Scenarios (each on a fresh database):
  sync 1 thread      one caller doing begin → finish in a loop (the latency a lone request pays)
  async N callers    N coroutines on one event loop doing abegin → afinish concurrently (a busy gateway)
Each runs with group commit (one fsync per batch of queued writes) and without (one transaction per write).
Every write is committed with synchronous=FULL before the caller continues, in both modes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from offload.redact import Redactor  # noqa: E402
from offload.store import Journal  # noqa: E402
from offload.types import Usage  # noqa: E402

REQUEST: dict[str, Any] = {
    "model": "auto",
    "messages": [
        {"role": "system", "content": [{"type": "text", "text": "You are a careful coding assistant."}]},
        {"role": "user", "content": [{"type": "text", "text": "Write a function that parses ISO dates. " * 20}]},
    ],
    "max_tokens": 512,
}
RESPONSE = {"content": "def parse(s):\n    return datetime.fromisoformat(s)\n" * 5, "finish_reason": "stop"}
USAGE = Usage(input_tokens=220, output_tokens=80)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _summary(name: str, requests: int, wall: float, begins: list[float], finishes: list[float], j: Journal) -> dict:
    stats = j.writer_stats
    return {
        "scenario": name,
        "req/s": requests / wall,
        "begin p50 ms": _pct(begins, 0.50),
        "begin p99 ms": _pct(begins, 0.99),
        "finish p50 ms": _pct(finishes, 0.50),
        "finish p99 ms": _pct(finishes, 0.99),
        "req p50 ms": statistics.median(b + f for b, f in zip(begins, finishes, strict=True)) * 1000,
        "writes/commit": stats.mean_batch,
    }


def raw_commit_ms(path: Path, n: int = 300) -> float:
    """Median time of one bare ``INSERT`` + ``COMMIT`` on this disk (WAL, synchronous=FULL): the fsync floor."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (x)")
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?)", (i,))
        conn.execute("COMMIT")
        times.append(time.perf_counter() - t0)
    conn.close()
    return statistics.median(times) * 1000


def bench_sync(path: Path, requests: int, group: bool) -> dict:
    begins, finishes = [], []
    with Journal(path, Redactor(), group_commit=group) as j:
        start = time.perf_counter()
        for _ in range(requests):
            t0 = time.perf_counter()
            rid = j.begin(REQUEST, source="bench", model_requested="auto", dialect="openai")
            t1 = time.perf_counter()
            j.finish(rid, status="ok", response=RESPONSE, usage=USAGE, model="qwen", local=True, verdict="verified")
            t2 = time.perf_counter()
            begins.append(t1 - t0)
            finishes.append(t2 - t1)
        wall = time.perf_counter() - start
        return _summary("sync 1 thread", requests, wall, begins, finishes, j)


async def _bench_async(path: Path, requests: int, callers: int, group: bool) -> dict:
    begins: list[float] = []
    finishes: list[float] = []
    j = Journal(path, Redactor(), group_commit=group)

    async def caller(count: int) -> None:
        for _ in range(count):
            t0 = time.perf_counter()
            rid = await j.abegin(REQUEST, source="bench", model_requested="auto", dialect="openai")
            t1 = time.perf_counter()
            await j.afinish(rid, status="ok", response=RESPONSE, usage=USAGE, model="qwen", local=True)
            t2 = time.perf_counter()
            begins.append(t1 - t0)
            finishes.append(t2 - t1)

    per = requests // callers
    start = time.perf_counter()
    await asyncio.gather(*(caller(per) for _ in range(callers)))
    wall = time.perf_counter() - start
    result = _summary(f"async {callers} callers", per * callers, wall, begins, finishes, j)
    j.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario (default 2000)")
    parser.add_argument("--callers", type=int, default=32, help="concurrent async callers (default 32)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the median is shown (default 3)")
    parser.add_argument("--dir", type=Path, default=None, help="directory for the databases (default: a temp dir)")
    args = parser.parse_args()

    runs: dict[tuple[str, bool], list[dict]] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        floor = raw_commit_ms(Path(tmp) / "raw.db")
        for r in range(args.repeat):  # alternate the modes so machine-load drift hits both alike
            for group in (True, False):
                db = Path(tmp) / f"sync-{group}-{r}.db"
                runs.setdefault(("sync", group), []).append(bench_sync(db, args.requests, group))
                db = Path(tmp) / f"async-{group}-{r}.db"
                result = asyncio.run(_bench_async(db, args.requests, args.callers, group))
                runs.setdefault(("async", group), []).append(result)
    rows = []
    for (_, group), results in runs.items():
        median = sorted(results, key=lambda x: x["req/s"])[len(results) // 2]  # the run with median throughput
        rows.append(("group commit" if group else "one txn/write", median))

    rows.sort(key=lambda r: r[1]["scenario"], reverse=True)
    keys = [k for k in rows[0][1] if k != "scenario"]
    print(
        f"journal in {args.dir or tempfile.gettempdir()}, {args.requests} requests per run, median of {args.repeat} "
        f"runs, synchronous=FULL; bare commit p50 {floor:.3f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    header = f"{'scenario':<18} {'mode':<14}" + "".join(f"{k:>14}" for k in keys)
    print(header)
    print("-" * len(header))
    for label, row in rows:
        cells = "".join(f"{row[k]:>14.1f}" if k == "req/s" else f"{row[k]:>14.3f}" for k in keys)
        print(f"{row['scenario']:<18} {label:<14}{cells}")


if __name__ == "__main__":
    main()
