"""aider through the gateway, with the command line ``offload serve`` prints (slow: installs ``aider-chat`` once
into its own virtualenv; aider pins many packages)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from offload.cli.serve import aider_command
from tests.clients.conftest import client_env, run, venv_client
from tests.server.conftest import MODEL, Gateway

pytestmark = [pytest.mark.sdk, pytest.mark.slow, pytest.mark.timeout(1800)]  # installs + a loaded machine

#: What keeps aider quiet and offline in a test: no git, no update check, no analytics, plain output.
QUIET = ["--yes", "--no-git", "--no-check-update", "--analytics-disable", "--no-pretty", "--no-fancy-input"]


@pytest.fixture(scope="module")
def aider() -> Path:
    return venv_client("aider", "aider-chat", "aider")


def test_aider_completes_a_prompt(aider: Path, tmp_path: Path, make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway()
    # aider downloads LiteLLM's model price list unless a fresh copy is cached: give it one
    caches = tmp_path / ".aider" / "caches"
    caches.mkdir(parents=True)
    info = {"max_input_tokens": 8192, "max_output_tokens": 1024, "litellm_provider": "openai", "mode": "chat"}
    (caches / "model_prices_and_context_window.json").write_text(json.dumps({MODEL: info}))
    argv = shlex.split(aider_command(gw.url + "/v1", "dummy", model=MODEL))
    argv[0] = str(aider)
    env = client_env(tmp_path, LITELLM_LOCAL_MODEL_COST_MAP="True")
    done = run([*argv, *QUIET, "--message", "Say hi"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    assert "Hello from offload" in done.stdout
    assert "raw.githubusercontent.com" not in done.stdout + done.stderr  # nothing tried to leave the machine
    seen = gw.local.requests[-1]
    assert seen.stream and seen.temperature == 0 and seen.messages[-1].text_content.startswith("Say hi")
    assert [(r.status, r.dialect) for r in gw.journal_rows()] == [("ok", "openai")]
