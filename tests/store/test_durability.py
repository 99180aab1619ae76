"""kill -9 at random points: every request whose begin() returned is in the journal, and the file is sound."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offload.store import Journal

ROUNDS = 30

_CHILD = """
import sys, threading
import pytest

from offload.store import Journal
from offload.types import Attempt, Usage

journal = Journal(sys.argv[1])
out = threading.Lock()

def loop(worker):
    i = 0
    while True:
        rid = journal.begin({"messages": [{"role": "user", "content": f"w{worker} #{i}"}]},
                            source="durability", model_requested="auto")
        with out:
            sys.stdout.write(rid + "\\n")
            sys.stdout.flush()
        journal.record_attempt(rid, Attempt(n=1, backend="b", model="m", usage=Usage(input_tokens=i)))
        if i % 3:
            journal.finish(rid, status="ok", usage=Usage(input_tokens=i, output_tokens=1), partial_output="x" * i)
        i += 1

for w in range(4):
    threading.Thread(target=loop, args=(w,), daemon=True).start()
threading.Event().wait()
"""


def _kill_at_random(db_path: Path, rng: random.Random) -> tuple[list[str], bool]:
    """Start a writer child, kill -9 it at a random moment; return the ids it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db_path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    fd = child.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + 60
    while b"\n" not in buf and time.monotonic() < deadline:  # wait until it is writing
        if select.select([fd], [], [], 1)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
    started = b"\n" in buf
    time.sleep(rng.uniform(0, 0.12))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    buf += child.stdout.read()
    child.stdout.close()
    complete = buf[: buf.rfind(b"\n") + 1] if b"\n" in buf else b""
    return complete.decode().split(), started


@pytest.mark.slow
def test_kill_minus_nine_loses_nothing(db_path: Path) -> None:
    rng = random.Random(1234)
    Journal(db_path).close()
    promised: list[str] = []
    for _ in range(ROUNDS):
        ids, started = _kill_at_random(db_path, rng)
        assert started, "the writer child never started writing"
        promised += ids
    assert len(promised) >= ROUNDS
    with Journal(db_path) as j:
        assert j.integrity_check() == "ok"
        stored = {e.id: e for e in j.list(limit=len(promised) + 10_000)}
        missing = [i for i in promised if i not in stored]
        assert missing == [], f"{len(missing)} acknowledged requests were lost"
        assert all(e.status != "pending" for e in stored.values())  # every owner is dead now
        statuses = [e.status for e in stored.values()]
        assert set(statuses) == {"ok", "interrupted"}
        assert statuses.count("interrupted") >= ROUNDS  # each child left its unfinished rows behind
