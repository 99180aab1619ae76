"""``offload log --dialect … --client …`` through typer's CliRunner, against a real journal file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from offload.cli import app
from offload.redact import Redactor
from offload.store import Journal

REQ = {"messages": [{"role": "user", "content": "hello"}]}
ROWS = {  # name: (dialect, client)
    "openai_py": ("openai", "openai-python"),
    "openai_cc": ("openai", "claude-code"),
    "anthropic_cc": ("anthropic", "claude-code"),
    "cli": (None, None),
}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A config pointing at a journal with one finished row per entry of ROWS."""
    db = tmp_path / "journal.db"
    cfg = tmp_path / "offload.toml"
    cfg.write_text(f'[defaults]\nembedded = false\njournal_path = "{db}"\n')
    ids: dict[str, str] = {}
    with Journal(db, Redactor()) as j:
        for name, (dialect, client) in ROWS.items():
            rid = j.begin(REQ, source="gateway", model_requested="auto", dialect=dialect, client=client)
            j.finish(rid, status="ok", model="m")
            ids[name] = rid
    return cfg, ids


def invoke(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(cfg), *args], env={"COLUMNS": "200"})


def listed(cfg: Path, *args: str) -> set[str]:
    result = invoke(cfg, "log", "--json", *args)
    assert result.exit_code == 0, result.output
    return {e["id"] for e in json.loads(result.output)}


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((), {"openai_py", "openai_cc", "anthropic_cc", "cli"}),
        (("--dialect", "openai"), {"openai_py", "openai_cc"}),
        (("--client", "claude-code"), {"openai_cc", "anthropic_cc"}),
        (("--dialect", "openai", "--client", "claude-code"), {"openai_cc"}),
        (("--dialect", "anthropic", "--client", "openai-python"), set()),
        (("--client", "claude"), set()),  # exact match, not a prefix
        (("--client", "claude-code", "--status", "error"), set()),
    ],
)
def test_log_filters_by_dialect_and_client(
    setup: tuple[Path, dict[str, str]], args: tuple[str, ...], names: set[str]
) -> None:
    cfg, ids = setup
    assert listed(cfg, *args) == {ids[n] for n in names}


def test_the_table_lists_only_the_matching_entries(setup: tuple[Path, dict[str, str]]) -> None:
    cfg, ids = setup
    result = invoke(cfg, "log", "--client", "openai-python")
    assert result.exit_code == 0, result.output
    assert ids["openai_py"] in result.output
    assert ids["openai_cc"] not in result.output and ids["anthropic_cc"] not in result.output
    empty = invoke(cfg, "log", "--dialect", "ollama")
    assert empty.exit_code == 0 and "(no entries)" in empty.output


def test_help_names_the_options(setup: tuple[Path, dict[str, str]]) -> None:
    cfg, _ = setup
    result = invoke(cfg, "log", "--help")
    assert result.exit_code == 0
    assert "--dialect" in result.output and "--client" in result.output
