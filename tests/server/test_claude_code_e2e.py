"""Claude Code itself, through the gateway, answered by the embedded model (slow: installs Claude Code once)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from offload.config import parse_config
from offload.engine import Engine
from offload.server.app import create_app
from tests.fakes.server import serve_app

pytestmark = [pytest.mark.sdk, pytest.mark.slow, pytest.mark.inference]

CACHE = Path(os.environ.get("OFFLOAD_TEST_NPM_CACHE", Path.home() / ".cache" / "offload-tests" / "claude-code"))


def claude_executable() -> Path:
    """Claude Code from a cache directory outside the repository (installed with npm on first use)."""
    exe = CACHE / "node_modules" / ".bin" / "claude"
    if exe.exists():
        return exe
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed, so Claude Code cannot be installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "@anthropic-ai/claude-code"],
            cwd=CACHE,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm could not reach the registry in 10 minutes to install @anthropic-ai/claude-code")
    if done.returncode != 0 or not exe.exists():
        pytest.skip(f"npm could not install @anthropic-ai/claude-code (registry unreachable?): {done.stderr[-300:]}")
    return exe


@pytest.mark.timeout(900)
def test_claude_code_print_mode(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="the embedded backend needs llama-cpp-python")
    exe = claude_executable()
    engine = Engine(parse_config({"defaults": {"journal_path": str(tmp_path / "journal.db")}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    with serve_app(create_app(engine)) as url:
        env |= {
            "HOME": str(tmp_path),
            "ANTHROPIC_BASE_URL": url,
            "ANTHROPIC_AUTH_TOKEN": "dummy",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }
        done = subprocess.run(
            [str(exe), "-p", "Say hello in one short sentence."],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() and "API Error" not in done.stdout
    rows = [r for r in engine.journal.list() if r.client == "claude-code"]
    assert rows and rows[0].status == "ok" and rows[0].backend == "embedded" and rows[0].dialect == "anthropic"
    assert rows[0].request["metadata"].get("scenario") == "main_loop"
    engine.journal.close()
