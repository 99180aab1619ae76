"""The benchmark scripts that are cheap to run still run (each checks its own results before timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_journal_redaction_runs_and_agrees_with_the_reference() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / "journal_redaction.py"), "--repeat", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Claude Code size" in out and "+ a password" in out
