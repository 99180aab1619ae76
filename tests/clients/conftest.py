"""Real coding clients (Codex CLI, ``llm``, aider) driven against a gateway on a real socket.

The clients are installed once into a cache directory outside the repository (``~/.cache/offload-tests``, or
``$OFFLOAD_TEST_CLIENT_CACHE``): Codex with npm, ``llm`` and aider each into their own virtualenv (aider pins
many packages; the project's ``.venv`` is never touched). A test is skipped, saying why, when the registry
cannot be reached. While they run, every client gets a dead proxy for anything but loopback, so no test can
reach the internet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import make_gateway  # noqa: F401  (the gateway fixture, shared with tests/server)

CACHE = Path(os.environ.get("OFFLOAD_TEST_CLIENT_CACHE", Path.home() / ".cache" / "offload-tests"))
#: Generous: the test machine is small and shared.
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 600
_CLEARED = ("OPENAI_", "ANTHROPIC_", "CODEX_", "LLM_", "AIDER_", "LITELLM_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def _tail(text: str, n: int = 400) -> str:
    return " ".join(text.split())[-n:]


def npm_client(folder: str, package: str, binary: str) -> Path:
    """``binary`` of npm ``package``, installed into ``CACHE/folder`` on first use."""
    where = CACHE / folder
    exe = where / "node_modules" / ".bin" / binary
    if exe.exists():
        return exe
    if shutil.which("npm") is None:
        pytest.skip(f"npm is not installed, so {package} cannot be installed")
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", package],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm could not reach its registry in {INSTALL_TIMEOUT} s to install {package}")
    if done.returncode != 0 or not exe.exists():
        pytest.skip(f"npm could not install {package} (registry unreachable?): {_tail(done.stderr)}")
    return exe


def venv_client(name: str, requirement: str, binary: str) -> Path:
    """``binary`` from a private virtualenv ``CACHE/<name>-venv`` with ``requirement`` installed on first use."""
    venv = CACHE / f"{name}-venv"
    exe = venv / "bin" / binary
    marker = venv / ".offload-installed"
    if exe.exists() and marker.exists() and marker.read_text() == requirement:
        return exe
    if venv.exists():  # a half-finished install from an interrupted run
        shutil.rmtree(venv)
    CACHE.mkdir(parents=True, exist_ok=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300)
    if made.returncode != 0:
        pytest.skip(f"could not create a virtualenv for {requirement}: {_tail(made.stderr)}")
    try:
        done = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"PyPI could not be reached in {INSTALL_TIMEOUT} s to install {requirement}")
    if done.returncode != 0 or not exe.exists():
        pytest.skip(f"pip could not install {requirement} (PyPI unreachable?): {_tail(done.stderr)}")
    marker.write_text(requirement)
    return exe


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment a client runs in: a private HOME, no inherited keys, and no way off this machine."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_CLEARED)}
    dead = "http://127.0.0.1:9"  # the discard port: refused at once
    env |= {"HOME": str(home), "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env |= {"http_proxy": dead, "https_proxy": dead}
    return env | extra


def run(argv: list[str | Path], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a client to completion (stdin closed, so nothing waits for a terminal)."""
    return subprocess.run(
        [str(a) for a in argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=RUN_TIMEOUT,
    )
