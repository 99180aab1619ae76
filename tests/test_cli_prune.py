"""``offload log prune`` through typer's CliRunner, against a real journal file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from offload.cli import app
from offload.errors import InvalidRequest
from offload.redact import Redactor
from offload.store import Journal, Ledger

DAY = 86_400.0
REQ = {"messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A config pointing at a journal with old ok/error/pending rows and a recent ok row."""
    db = tmp_path / "journal.db"
    cfg = tmp_path / "offload.toml"
    cfg.write_text(f'[defaults]\nembedded = false\njournal_path = "{db}"\n')
    ids: dict[str, str] = {}
    with Journal(db, Redactor()) as j:
        for name, status in (("old_ok", "ok"), ("old_error", "error"), ("old_pending", None), ("recent_ok", "ok")):
            rid = j.begin(REQ, source="test", model_requested="auto", kind="chat")
            if status:
                j.finish(rid, status=status, model="m", local=True, verdict="verified", avoided_usd=0.5)
            ids[name] = rid
    conn = sqlite3.connect(db, isolation_level=None)
    for name, days in (("old_ok", 40), ("old_error", 45), ("old_pending", 50), ("recent_ok", 2)):
        conn.execute("UPDATE requests SET created_at = ? WHERE id = ?", (time.time() - days * DAY, ids[name]))
    conn.close()
    return cfg, db, ids


def invoke(cfg: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["--config", str(cfg), *args], input=input, env={"COLUMNS": "200"})


def remaining(db: Path) -> set[str]:
    with Journal(db, Redactor()) as j:
        return {e.id for e in j.list(limit=100)}


def test_dry_run_changes_nothing(setup: tuple[Path, Path, dict[str, str]]) -> None:
    cfg, db, ids = setup
    result = invoke(cfg, "log", "prune", "--older-than", "30d", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "journal prune (dry run)" in result.output and "would delete" in result.output
    assert remaining(db) == set(ids.values())


def test_asks_first_and_keeps_everything_on_no(setup: tuple[Path, Path, dict[str, str]]) -> None:
    cfg, db, ids = setup
    result = invoke(cfg, "log", "prune", "--older-than", "30d", input="n\n")
    assert result.exit_code == 1 and "Delete 2 journal entries" in result.output
    assert remaining(db) == set(ids.values())
    result = invoke(cfg, "log", "prune", "--older-than", "30d", input="y\n")
    assert result.exit_code == 0, result.output
    assert remaining(db) == {ids["old_pending"], ids["recent_ok"]}


def test_yes_status_and_vacuum(setup: tuple[Path, Path, dict[str, str]]) -> None:
    cfg, db, ids = setup
    with Journal(db, Redactor()) as j:
        before = Ledger(j).summary()
    result = invoke(cfg, "log", "prune", "--older-than", "30d", "--status", "error", "--yes", "--vacuum")
    assert result.exit_code == 0, result.output
    assert "entries deleted" in result.output and "after VACUUM" in result.output
    assert remaining(db) == set(ids.values()) - {ids["old_error"]}
    with Journal(db, Redactor()) as j:
        assert Ledger(j).summary() == before  # savings totals kept
    # the listing and the one-entry view of `offload log` still work
    listing = invoke(cfg, "log", "--json")
    assert listing.exit_code == 0 and ids["recent_ok"] in listing.output
    assert invoke(cfg, "log", ids["recent_ok"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--older-than", "soon"], "cannot read --older-than"),
        (["--older-than", "2999-01-01"], "in the future"),
        (["--older-than", "30d", "--status", "pending"], "never pruned"),
        (["--older-than", "30d", "--status", "ok,done"], "unknown status"),
    ],
)
def test_bad_arguments(setup: tuple[Path, Path, dict[str, str]], args: list[str], words: str) -> None:
    cfg, db, ids = setup
    result = invoke(cfg, "log", "prune", *args, "--yes")
    assert isinstance(result.exception, InvalidRequest) and words in result.exception.message
    assert remaining(db) == set(ids.values())


def test_older_than_is_required(setup: tuple[Path, Path, dict[str, str]]) -> None:
    cfg, _, _ = setup
    result = invoke(cfg, "log", "prune", "--yes")
    assert result.exit_code == 2 and "--older-than" in result.output
