"""``offload setup --inventory NAME``: a bundled example inventory becomes the config file, then setup runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offload.errors import ConfigError
from offload.models import inventory_path
from offload.models.gpu import GPUReport
from offload.models.inventory_install import choose_inventory, install_inventory
from tests.fakes.server import free_port
from tests.models.test_cli import invoke, nvidia  # noqa: F401  (a fixture)


def test_installs_the_named_inventory_then_runs_setup(tmp_path: Path) -> None:
    target = tmp_path / "conf" / "offload.toml"
    code, out = invoke("--config", str(target), "setup", "--inventory", "gpu-12gb")
    assert f"installed the gpu-12gb inventory as {target}" in out.replace("\n", "")
    assert target.read_text() == inventory_path("gpu-12gb").read_text()
    # setup then ran with it: its Ollama backend (127.0.0.1:11434) is not running here
    assert code == 1 and "✗ backend ollama" in out and "ollama serve" in out


@pytest.mark.usefixtures("nvidia")
def test_auto_picks_the_inventory_for_the_detected_gpu(tmp_path: Path) -> None:
    target = tmp_path / "offload.toml"
    code, out = invoke("--config", str(target), "setup", "--inventory", "auto", "--json")
    assert target.read_text() == inventory_path("gpu-24gb").read_text()  # an RTX 4090
    assert code == 1 and json.loads(out)["checks"][0]["ok"] is False  # JSON only: no install line mixed in


def test_a_different_config_is_kept_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "offload.toml"
    target.write_text("# my own\n[defaults]\nembedded = false\n")
    with pytest.raises(ConfigError, match="already exists") as err:  # (`offload` prints it with its hint)
        invoke("--config", str(target), "setup", "--inventory", "cpu-only")
    assert "--force" in (err.value.hint or "")
    assert target.read_text().startswith("# my own")
    code, out = invoke("--config", str(target), "setup", "--inventory", "cpu-only", "--force")
    assert "previous file is kept as" in out.replace("\n", "")
    assert (tmp_path / "offload.toml.bak").read_text().startswith("# my own")
    assert target.read_text() == inventory_path("cpu-only").read_text()


def test_installing_the_same_inventory_again_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "offload.toml"
    first = install_inventory("gpu-32gb", target)
    again = install_inventory("gpu-32gb", target)
    assert not first.unchanged and again.unchanged and again.backup is None
    assert not (tmp_path / "offload.toml.bak").exists()


def test_unknown_names_and_auto_without_a_gpu() -> None:
    with pytest.raises(ConfigError, match="no bundled inventory") as err:
        choose_inventory("gpu-80gb", GPUReport)
    assert "gpu-24gb" in (err.value.hint or "")
    assert choose_inventory("auto", lambda: GPUReport(detail="nvidia-smi not found")) == "cpu-only"
    assert choose_inventory(" GPU-24GB ", GPUReport) == "gpu-24gb"


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write the inventory"):
        install_inventory("cpu-only", blocker / "offload.toml")
    assert free_port()  # (the fakes module imports fine alongside)
