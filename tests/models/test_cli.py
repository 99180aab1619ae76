"""``offload setup | plan | ps | load | unload | gpu`` and ``offload mcp --help`` through typer's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import offload.models.gpu as gpu_mod
from offload.cli import mcp_cmd, modelops
from offload.cli.common import State
from offload.models import inventory_path
from tests.fakes.ollama import FakeModel, FakeOllama
from tests.fakes.server import free_port, serve_app

GB = 1024**3
RTX_4090 = "0, NVIDIA GeForce RTX 4090, 24564, 1210\n"


def make_app() -> typer.Typer:
    """The root of ``offload`` (global --config and per-invocation State) with these command modules only."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root(ctx: typer.Context, config: str | None = typer.Option(None, "--config", "-c")) -> None:
        ctx.obj = State(config_path=config)
        ctx.call_on_close(ctx.obj.close)

    modelops.register(app)
    mcp_cmd.register(app)
    return app


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(make_app(), list(args), env={"COLUMNS": "200"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture
def nvidia(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_mod, "_run", lambda _cmd: (0, RTX_4090, ""))


@pytest.fixture
def fake() -> Iterator[tuple[FakeOllama, str]]:
    f = FakeOllama(
        models=[FakeModel("llama3.1:8b", size=int(4.9 * GB))],
        registry=[FakeModel("qwen2.5-coder:14b", size=9_000, layers=(8_000, 1_000)),
                  FakeModel("qwen2.5vl:7b", size=6_000)],
    )  # fmt: skip
    with serve_app(f.app) as url:
        yield f, url


def inventory(tmp_path: Path, url: str) -> Path:
    """The shipped 24 GB inventory (minus the 32b) pointed at the fake Ollama server."""
    text = inventory_path("gpu-24gb").read_text().replace("http://127.0.0.1:11434", url)
    text = text.replace("[defaults]", "[defaults]\nembedded = false")
    start = text.index('[[models]]\nname = "qwen2.5-coder:32b"')
    text = text[:start] + text[text.index("[[models]]", start + 10) :]
    path = tmp_path / "offload.toml"
    path.write_text(text)
    return path


def test_setup_pulls_with_progress_and_ends_with_the_models_table(fake: tuple[FakeOllama, str], tmp_path: Path) -> None:
    f, url = fake
    f.fail_pull_once("qwen2.5-coder:14b")
    code, out = invoke("--config", str(inventory(tmp_path, url)), "setup")
    assert code == 0, out
    assert "✓ backend ollama (ollama): ollama 0.9.6" in out
    assert "↻ qwen2.5-coder:14b: interrupted" in out and "unexpected EOF" in out
    assert "pulled (resumed 1× after interruptions)" in out
    assert "already installed" in out  # llama3.1:8b
    assert "inventory" in out and "not pulled" in out  # the models table: optional ones are not pulled
    assert {"qwen2.5-coder:14b", "qwen2.5vl:7b"} <= set(f.models)
    assert "minicpm-v:8b" not in f.models


def test_setup_optional_and_json(fake: tuple[FakeOllama, str], tmp_path: Path) -> None:
    f, url = fake
    f.add_pullable("minicpm-v:8b", size=5_000)
    f.add_pullable("nomic-embed-text", size=500)
    code, out = invoke("--config", str(inventory(tmp_path, url)), "setup", "--optional", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert {m["model"]: m["status"] for m in report["models"]} == {
        "qwen2.5-coder:14b": "pulled", "qwen2.5vl:7b": "pulled", "llama3.1:8b": "present",
        "minicpm-v:8b": "pulled", "nomic-embed-text": "pulled"}  # fmt: skip


def test_setup_with_ollama_down_says_how_to_start_it(tmp_path: Path) -> None:
    code, out = invoke("--config", str(inventory(tmp_path, f"http://127.0.0.1:{free_port()}")), "setup")
    assert code == 1
    assert "✗ backend ollama" in out and "OLLAMA_HOST=127.0.0.1:" in out and "ollama serve" in out
    assert "backend 'ollama' is down" in out and "some required models are not ready" in out


def test_setup_with_a_model_the_registry_does_not_have(fake: tuple[FakeOllama, str], tmp_path: Path) -> None:
    _, url = fake
    path = inventory(tmp_path, url)
    path.write_text(path.read_text() + '\n[[models]]\nname = "qwen9:700b"\nbackend = "ollama"\nvram_gb = 400\n')
    code, out = invoke("--config", str(path), "setup")
    assert code == 1 and "file does not exist" in out and "ollama.com/library" in out


def test_plan_against_the_detected_gpu(nvidia: None) -> None:
    code, out = invoke("--config", str(inventory_path("gpu-24gb")), "plan")
    assert code == 0
    assert "budget: 24.0 GB VRAM (NVIDIA GeForce RTX 4090 24.0 GB)" in out
    assert "over by 5.0" in out and "over by 8.0" in out
    assert "→ use qwen2.5-coder:14b (10.5 GB) instead of qwen2.5-coder:32b (21.5 GB) for code" in out
    assert "q2_K build of qwen2.5-coder:32b" in out
    assert "some phases do not fit" in out


def test_plan_with_a_budget_and_a_workflow_file(nvidia: None, tmp_path: Path) -> None:
    wf = tmp_path / "wf.toml"
    wf.write_text('name = "tiny"\n[[phases]]\nname = "build"\nneeds = ["code", "vision"]\n')
    code, out = invoke("--config", str(inventory_path("gpu-32gb")), "plan", "--workflow", str(wf), "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["budget"]["source"] == "gpu" and plan["fits"] is False
    (phase,) = plan["phases"]
    assert [m["name"] for m in phase["models"]] == ["qwen2.5-coder:32b", "qwen2.5vl:7b"]
    code, out = invoke("--config", str(inventory_path("gpu-32gb")), "plan", "--workflow", str(wf), "--budget", "32")
    assert code == 0 and "every phase fits" in out and "(from --budget)" in out


def test_plan_with_a_broken_workflow_file(tmp_path: Path) -> None:
    wf = tmp_path / "wf.toml"
    wf.write_text("[[phases]]\nname = 'x'\nneeds = 'code'\n")
    result = CliRunner().invoke(make_app(), ["plan", "--workflow", str(wf)])
    assert result.exit_code != 0 and "phases[0].needs" in str(result.exception)


def test_ps_load_unload(fake: tuple[FakeOllama, str], tmp_path: Path) -> None:
    f, url = fake
    cfg = str(inventory(tmp_path, url))
    assert invoke("--config", cfg, "ps") == (0, "no model is loaded (load one with `offload load MODEL`)\n")
    code, out = invoke("--config", cfg, "load", "llama3.1:8b")
    assert code == 0 and "kept for 30m" in out  # [defaults] keep_alive of the inventory
    assert f.requests_to("/api/generate")[-1].body["keep_alive"] == "30m"
    code, out = invoke("--config", cfg, "ps")
    assert code == 0 and "llama3.1:8b" in out and "in 29m" in out and "total: 4.9 GB" in out
    code, out = invoke("--config", cfg, "load", "llama3.1:8b", "--keep-alive", "-1")
    assert "until unloaded" in out
    assert json.loads(invoke("--config", cfg, "ps", "--json")[1])[0]["expires_in"] == "never (pinned)"
    assert invoke("--config", cfg, "unload", "llama3.1:8b") == (0, "unloaded llama3.1:8b\n")
    assert f.loaded == {}


def test_gpu_with_and_without_nvidia(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_mod, "_run", lambda _cmd: (0, RTX_4090, ""))
    code, out = invoke("gpu")
    assert code == 0 and "NVIDIA GeForce RTX 4090" in out and "gpu-24gb.toml" in out

    def missing(cmd: object) -> tuple[int, str, str]:
        raise FileNotFoundError("nvidia-smi")

    monkeypatch.setattr(gpu_mod, "_run", missing)
    code, out = invoke("gpu", "--json")
    data = json.loads(out)
    assert (
        data["gpus"] == []
        and data["budget"]["device"] == "RAM"
        and data["suggested_inventory"].endswith("cpu-only.toml")
    )


def test_mcp_command_help() -> None:
    code, out = invoke("mcp", "--help")
    assert code == 0 and "claude mcp add offload -- offload mcp" in out and "--http" in out
