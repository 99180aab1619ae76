"""`offload serve` prunes the journal at start-up when ``[defaults] journal_retention_days`` is set."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from offload.store import Journal
from tests.server.conftest import Gateway, base_config


def _old_finished_row(db: Path, days_ago: float) -> str:
    with Journal(db) as j:
        rid = j.begin({"messages": []}, source="gateway", model_requested="m")
        j.finish(rid, status="ok", response={"content": "old"})
    with sqlite3.connect(db) as c:
        c.execute("UPDATE requests SET created_at = ? WHERE id = ?", (time.time() - days_ago * 86400, rid))
    return rid


def test_gateway_prunes_old_rows_at_start_up(make_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    old = _old_finished_row(tmp_path / "journal0.db", days_ago=40)
    recent = _old_finished_row(tmp_path / "journal0.db", days_ago=1)
    cfg = base_config()
    cfg["defaults"] = {**cfg["defaults"], "journal_retention_days": 30}
    gw = make_gateway(config=cfg)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and old in {r.id for r in gw.journal_rows()}:
        time.sleep(0.05)
    ids = {r.id for r in gw.journal_rows()}
    assert old not in ids and recent in ids


def test_no_retention_keeps_everything(make_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    old = _old_finished_row(tmp_path / "journal0.db", days_ago=400)
    gw = make_gateway()
    time.sleep(0.3)
    assert old in {r.id for r in gw.journal_rows()}
