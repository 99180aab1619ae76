"""Rows left pending by a dead process become interrupted on the next open; a live process's rows do not."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from offload.store import Journal
from offload.store.db import process_start

REQUEST = {"messages": [{"role": "user", "content": "hi"}]}

_CHILD = """
import os, sys
from offload.store import Journal
j = Journal(sys.argv[1])
rid = j.begin({"messages": [{"role": "user", "content": "child"}]}, source="child", model_requested="auto")
print(rid, flush=True)
if sys.argv[2] == "die":
    os._exit(0)  # no finish, no close: like a crash
sys.stdin.readline()  # stay alive until the parent says so
j.finish(rid, status="ok")
j.close()
"""


def _child(db_path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db_path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def _set(db_path: Path, rid: str, **cols: object) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(f"UPDATE requests SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?", [*cols.values(), rid])
    conn.close()


def test_pending_rows_of_a_dead_process_become_interrupted(db_path: Path) -> None:
    Journal(db_path).close()
    child = _child(db_path, "die")
    out, _ = child.communicate(timeout=60)
    rid = out.strip()
    with Journal(db_path) as j:
        assert j.recovered == 1
        entry = j.get(rid)
        assert entry.status == "interrupted"
        assert (entry.error or {}).get("code") == "interrupted"
        assert [e.id for e in j.for_replay("interrupted")] == [rid]
        assert j.for_replay("interrupted")[0].request["messages"][0]["content"] == "child"


def test_pending_rows_of_a_live_process_are_left_alone(db_path: Path) -> None:
    Journal(db_path).close()
    child = _child(db_path, "live")
    assert child.stdout is not None and child.stdin is not None
    rid = child.stdout.readline().strip()
    try:
        with Journal(db_path) as j:
            assert j.recovered == 0
            assert j.get(rid).status == "pending"
            assert j.get(rid).owner_pid == child.pid
    finally:
        child.stdin.write("go\n")
        child.stdin.flush()
        child.wait(timeout=60)
    with Journal(db_path) as j:
        assert j.get(rid).status == "ok"


def test_own_pending_rows_survive_a_second_open(journal: Journal, db_path: Path) -> None:
    rid = journal.begin(REQUEST, source="cli", model_requested="auto")
    with Journal(db_path) as second:
        assert second.recovered == 0
        assert second.get(rid).status == "pending"


def test_queued_rows_are_never_interrupted(db_path: Path) -> None:
    with Journal(db_path) as j:
        rid = j.begin(REQUEST, source="cli", model_requested="auto", status="queued")
    _set(db_path, rid, owner_pid=2**22 + 12345, owner_start=1)
    with Journal(db_path) as j:
        assert j.get(rid).status == "queued"


def test_other_boot_means_dead_even_if_the_pid_is_alive(db_path: Path) -> None:
    with Journal(db_path) as j:
        rid = j.begin(REQUEST, source="cli", model_requested="auto")
    _set(db_path, rid, owner_boot="a-previous-boot")
    with Journal(db_path) as j:
        assert j.get(rid).status == "interrupted"


def test_reused_pid_is_recognised_by_its_start_time(db_path: Path) -> None:
    with Journal(db_path) as j:
        rid = j.begin(REQUEST, source="cli", model_requested="auto")
    start = process_start(os.getpid())
    assert start is not None
    _set(db_path, rid, owner_start=start - 1)  # our pid, but "another" process that held it earlier
    with Journal(db_path) as j:
        assert j.get(rid).status == "interrupted"


def test_rows_of_another_host_are_not_judged(db_path: Path) -> None:
    with Journal(db_path) as j:
        rid = j.begin(REQUEST, source="cli", model_requested="auto")
    _set(db_path, rid, owner_host="some-other-host", owner_boot="other", owner_pid=2**22 + 1)
    with Journal(db_path) as j:
        assert j.recovered == 0
        assert j.get(rid).status == "pending"


def test_replay_claims_the_row_for_the_current_process(db_path: Path) -> None:
    with Journal(db_path) as j:
        rid = j.begin(REQUEST, source="cli", model_requested="auto", status="queued")
    _set(db_path, rid, owner_pid=2**22 + 7, owner_start=3)
    with Journal(db_path) as j:
        j.mark_status(rid, "pending")
        assert j.get(rid).owner_pid == os.getpid()
        with Journal(db_path) as again:  # we are alive: the claimed row stays pending
            assert again.get(rid).status == "pending"
