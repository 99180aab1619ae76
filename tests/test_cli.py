"""The CLI as users run it (a real subprocess): typed errors with hints, never a traceback; journal and savings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "sk-CANARY-cli-0123456789abcdef"
OFFLOAD = [sys.executable, "-c", "from offload.cli import main; main()"]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([*OFFLOAD, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


@pytest.fixture
def scripted_config(tmp_path: Path) -> Path:
    (tmp_path / "answers.json").write_text(
        json.dumps({"default": "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, n))\n"})
    )
    cfg = tmp_path / "offload.toml"
    cfg.write_text(f"""
[defaults]
embedded = false

[backends.local]
kind = "scripted"
script = "{tmp_path / "answers.json"}"

[backends.ollama]
kind = "ollama"
base_url = "http://127.0.0.1:9"
max_retries = 0

[backends.cloud]
kind = "anthropic"
base_url = "http://127.0.0.1:9"
api_key_env = "CLOUD_KEY"

[[models]]
name = "local-coder"
backend = "local"
roles = ["code", "fast", "chat", "review"]

[[models]]
name = "qwen-on-ollama"
backend = "ollama"
roles = ["large"]
""")
    return cfg


def assert_clean_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error:" in proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr


def test_run_verifies_and_journals(scripted_config: Path) -> None:
    p = run_cli(
        "--config",
        str(scripted_config),
        "run",
        "--explain",
        "Write is_prime(n).\n>>> is_prime(7)\nTrue\n>>> is_prime(8)\nFalse",
    )
    assert p.returncode == 0, p.stderr
    assert "def is_prime" in p.stdout and "verified" in p.stdout and "journal" in p.stdout
    log = run_cli("--config", str(scripted_config), "log", "--json")
    [entry] = json.loads(log.stdout)
    assert entry["status"] == "ok" and entry["verdict"] == "verified"
    show = run_cli("--config", str(scripted_config), "log", entry["id"])
    assert show.returncode == 0 and "is_prime" in show.stdout
    sav = json.loads(run_cli("--config", str(scripted_config), "savings", "--json").stdout)
    assert sav["total"]["verified_local"] == 1 and sav["total"]["avoided_usd"] > 0


def test_run_json_output(scripted_config: Path) -> None:
    p = run_cli("--config", str(scripted_config), "run", "--json", "explain what a closure is")
    data = json.loads(p.stdout)
    assert data["model"] == "local-coder" and data["journal_id"] and data["usage"]["output_tokens"] > 0


def test_unknown_model(scripted_config: Path) -> None:
    p = run_cli("--config", str(scripted_config), "run", "--model", "gpt-17", "hi")
    assert_clean_error(p, "gpt-17", "hint:")
    entries = json.loads(run_cli("--config", str(scripted_config), "log", "--json").stdout)
    assert entries[0]["status"] == "error"


def test_unreachable_backend_is_queued_with_hint(scripted_config: Path) -> None:
    p = run_cli("--config", str(scripted_config), "run", "--model", "qwen-on-ollama", "hi")
    assert_clean_error(p, "hint:")
    entries = json.loads(run_cli("--config", str(scripted_config), "log", "--json").stdout)
    assert entries[0]["status"] == "queued"


def test_doctor_names_the_fix(scripted_config: Path) -> None:
    p = run_cli("--config", str(scripted_config), "doctor")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "ollama serve" in p.stdout


def test_invalid_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[backends.x]\nkind = 'olama'\nbase_url = 'http://h'\n")
    p = run_cli("--config", str(bad), "models")
    assert_clean_error(p, str(bad), "backends.x.kind", "hint:")


def test_broken_gguf_path(tmp_path: Path) -> None:
    cfg = tmp_path / "offload.toml"
    cfg.write_text(f"[backends.embedded]\nkind = 'embedded'\nmodel_path = '{tmp_path / 'missing.gguf'}'\n")
    p = run_cli("--config", str(cfg), "run", "--model", "smollm2-135m", "hi")
    assert_clean_error(p, "missing.gguf", "hint:")


def test_secret_never_printed(scripted_config: Path) -> None:
    env = {"CLOUD_KEY": CANARY}
    shown = run_cli("--config", str(scripted_config), "config", "show", env=env)
    assert shown.returncode == 0 and CANARY not in shown.stdout and "***set***" in shown.stdout
    run_cli("--config", str(scripted_config), "run", "--no-stream", f"remember {CANARY} for me", env=env)
    out = run_cli("--config", str(scripted_config), "log", env=env).stdout
    entries = json.loads(run_cli("--config", str(scripted_config), "log", "--json", env=env).stdout)
    one = run_cli("--config", str(scripted_config), "log", entries[0]["id"], env=env)
    for text in (out, one.stdout, one.stderr):
        assert CANARY not in text


def test_replay_failed(scripted_config: Path) -> None:
    run_cli("--config", str(scripted_config), "run", "--model", "gpt-17", "hi")
    p = run_cli("--config", str(scripted_config), "replay", "--failed", "--json")
    [outcome] = json.loads(p.stdout)
    assert outcome["ok"] is False and "gpt-17" in outcome["error"]
    p2 = run_cli("--config", str(scripted_config), "replay")
    assert_clean_error(p2, "hint:")


def test_route_runs_nothing(scripted_config: Path) -> None:
    p = run_cli("--config", str(scripted_config), "route", "Design the architecture of a multi-tenant billing system")
    assert p.returncode == 0 and "architecture" in p.stdout
    assert json.loads(run_cli("--config", str(scripted_config), "log", "--json").stdout) == []
