"""Simon Willison's ``llm`` CLI through the gateway, with the model entry ``offload serve`` prints (slow:
installs ``llm`` once into its own virtualenv)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from offload.cli.serve import llm_config
from offload.types import ToolCall
from tests.clients.conftest import client_env, run, venv_client
from tests.server.conftest import MODEL, Gateway

pytestmark = [pytest.mark.sdk, pytest.mark.slow, pytest.mark.timeout(1800)]  # installs + a loaded machine


@pytest.fixture(scope="module")
def llm() -> Path:
    return venv_client("llm", "llm", "llm")


def test_llm_prompt_and_tool_call(llm: Path, tmp_path: Path, make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway()
    user_path = tmp_path / "llm"
    user_path.mkdir()
    (user_path / "extra-openai-models.yaml").write_text(llm_config(gw.url + "/v1", model=MODEL))
    env = client_env(tmp_path, LLM_USER_PATH=str(user_path))

    done = run([llm, "-m", "offload", "Say hi"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Hello from offload"
    seen = gw.local.requests[-1]
    assert seen.stream and seen.messages[-1].text_content == "Say hi"

    # -T: llm runs its own llm_version tool and sends the result back
    gw.local.add("", tool_calls=[ToolCall(id="call_v", name="llm_version", arguments={})])
    gw.local.add("The tool answered.")
    done = run([llm, "-m", "offload", "-T", "llm_version", "Which llm version is this?"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "The tool answered."
    first, second = gw.local.requests[-2:]
    assert [t.name for t in first.tools] == ["llm_version"]
    assert [m.role for m in second.messages] == ["user", "assistant", "tool"]
    assert second.messages[-1].tool_call_id == "call_v" and second.messages[-1].text_content.strip()
    assert all(r.status == "ok" and r.dialect == "openai" for r in gw.journal_rows())
