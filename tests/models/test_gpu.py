"""GPU detection from recorded ``nvidia-smi`` outputs, and the budget's order of precedence."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from offload.config import parse_config
from offload.models.gpu import NVIDIA_SMI_QUERY, GPUReport, detect_gpus, parse_nvidia_smi, resolve_budget

ONE_4090 = "0, NVIDIA GeForce RTX 4090, 24564, 1210\n"
TWO_GPUS = "0, NVIDIA GeForce RTX 3090, 24576, 300\n1, NVIDIA RTX A4000, 16376, 0\n"
COMMA_NAME = "0, NVIDIA Tesla T4, PCIe, 15360, [N/A]\n"
NO_DEVICES = "No devices were found\n"
DRIVER_FAIL = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n"
)


def runner(code: int, out: str = "", err: str = "", calls: list[Sequence[str]] | None = None):  # type: ignore[no-untyped-def]
    def run(cmd: Sequence[str]) -> tuple[int, str, str]:
        if calls is not None:
            calls.append(cmd)
        return code, out, err

    return run


def missing(cmd: Sequence[str]) -> tuple[int, str, str]:
    raise FileNotFoundError(2, "No such file or directory", cmd[0])


def test_parses_one_gpu_and_runs_the_documented_query() -> None:
    calls: list[Sequence[str]] = []
    report = detect_gpus(runner(0, ONE_4090, calls=calls))
    assert calls == [NVIDIA_SMI_QUERY]
    assert "--format=csv,noheader,nounits" in NVIDIA_SMI_QUERY
    (gpu,) = report.gpus
    assert (gpu.index, gpu.name, gpu.memory_total_mib, gpu.memory_used_mib) == (
        0,
        "NVIDIA GeForce RTX 4090",
        24564,
        1210,
    )
    assert gpu.total_gb == pytest.approx(23.99, abs=0.01)
    assert gpu.free_gb == pytest.approx((24564 - 1210) / 1024)
    assert not report.cpu_only and report.detail == "nvidia-smi: 1 GPU"


def test_several_gpus_add_up() -> None:
    report = detect_gpus(runner(0, TWO_GPUS))
    assert [g.name for g in report.gpus] == ["NVIDIA GeForce RTX 3090", "NVIDIA RTX A4000"]
    assert report.total_gb == pytest.approx((24576 + 16376) / 1024)
    assert report.detail == "nvidia-smi: 2 GPUs"


def test_name_with_commas_and_not_available_memory() -> None:
    (gpu,) = parse_nvidia_smi(COMMA_NAME)
    assert gpu.name == "NVIDIA Tesla T4, PCIe"
    assert (gpu.memory_total_mib, gpu.memory_used_mib) == (15360, 0)


@pytest.mark.parametrize(
    ("run", "words"),
    [
        (runner(0, NO_DEVICES), "no GPU"),
        (runner(0, ""), "no GPU"),
        (runner(9, "", DRIVER_FAIL), "couldn't communicate with the NVIDIA driver"),
        (missing, "nvidia-smi not found"),
    ],
)
def test_no_gpu_means_cpu_with_a_reason(run, words: str) -> None:  # type: ignore[no-untyped-def]
    report = detect_gpus(run)
    assert report.cpu_only and report.gpus == ()
    assert words in report.detail


def test_budget_precedence_flag_config_gpu_ram() -> None:
    gpus = detect_gpus(runner(0, TWO_GPUS))
    cfg = parse_config({"defaults": {"vram_budget_gb": 20}})
    plain = parse_config({})
    assert (
        resolve_budget(cfg, gpus, override_gb=10).gb == 10
        and resolve_budget(cfg, gpus, override_gb=10).source == "flag"
    )
    assert (resolve_budget(cfg, gpus).gb, resolve_budget(cfg, gpus).source) == (20, "config")
    b = resolve_budget(plain, gpus)
    assert b.source == "gpu" and b.device == "VRAM" and b.gb == pytest.approx(40.0, abs=0.01)
    cpu = resolve_budget(plain, GPUReport(detail="nvidia-smi not found"), ram_gb=32)
    assert (cpu.gb, cpu.source, cpu.device) == (16, "ram", "RAM")
    assert "half of 32.0 GB RAM" in cpu.detail
    # the config budget also wins on a CPU-only machine (planning for another machine, or for RAM)
    assert (resolve_budget(cfg, GPUReport()).gb, resolve_budget(cfg, GPUReport()).device) == (20, "memory")
