"""GPU detection: what VRAM there is, from ``nvidia-smi``, and the budget the planner checks against.

Detection runs ``nvidia-smi --query-gpu=index,name,memory.total,memory.used --format=csv,noheader,nounits``
and parses one line per GPU (memory in MiB). No ``nvidia-smi`` on the PATH, a failing driver, or no GPU in
the output all mean *CPU only*. The budget is, in order: an explicit value (``offload plan --budget``),
``[defaults] vram_budget_gb`` from the config, the total VRAM of every detected GPU (Ollama splits a model
across GPUs), and on a CPU-only machine half the system RAM (the rest stays with the OS and your editor).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from offload.config import Config

NVIDIA_SMI_QUERY: tuple[str, ...] = (
    "nvidia-smi",
    "--query-gpu=index,name,memory.total,memory.used",
    "--format=csv,noheader,nounits",
)
MIB_PER_GB = 1024.0

#: Runs a command and returns ``(exit code, stdout, stderr)``; raises ``FileNotFoundError`` when it is missing.
Runner = Callable[[Sequence[str]], tuple[int, str, str]]
BudgetSource = Literal["flag", "config", "gpu", "ram"]


@dataclass(frozen=True)
class GPU:
    """One GPU as ``nvidia-smi`` reports it (memory in MiB)."""

    index: int
    name: str
    memory_total_mib: int
    memory_used_mib: int

    @property
    def total_gb(self) -> float:
        return self.memory_total_mib / MIB_PER_GB

    @property
    def used_gb(self) -> float:
        return self.memory_used_mib / MIB_PER_GB

    @property
    def free_gb(self) -> float:
        return max(0.0, self.total_gb - self.used_gb)


@dataclass(frozen=True)
class GPUReport:
    """The GPUs found (possibly none) and why there are none, when there are none."""

    gpus: tuple[GPU, ...] = ()
    #: Why detection found no GPU, or what it ran ("nvidia-smi: 2 GPUs").
    detail: str = ""

    @property
    def cpu_only(self) -> bool:
        return not self.gpus

    @property
    def total_gb(self) -> float:
        return sum(g.total_gb for g in self.gpus)

    @property
    def used_gb(self) -> float:
        return sum(g.used_gb for g in self.gpus)


@dataclass(frozen=True)
class Budget:
    """How many GB of (V)RAM models may use together, and where that number came from."""

    gb: float
    source: BudgetSource
    #: "VRAM" on a GPU machine, "RAM" when models run on the CPU, "memory" for a given budget without a GPU here.
    device: Literal["VRAM", "RAM", "memory"]
    detail: str = ""


def _num(text: str) -> int:
    """A memory field: an integer, or 0 for ``[N/A]`` / ``[Not Supported]`` (some cards report those)."""
    text = text.strip()
    try:
        return int(float(text))
    except ValueError:
        return 0


def parse_nvidia_smi(output: str) -> list[GPU]:
    """Parse the CSV ``nvidia-smi`` prints for :data:`NVIDIA_SMI_QUERY` (one GPU per line).

    GPU names may contain commas, so the name is everything between the first and the last two fields.
    Lines that are not GPU rows (blank lines, "No devices were found") are skipped.
    """
    gpus: list[GPU] = []
    for line in output.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4:
            continue
        index_text, name, total, used = parts[0], ", ".join(parts[1:-2]), parts[-2], parts[-1]
        if not index_text.isdigit():
            continue
        gpus.append(GPU(int(index_text), name, _num(total), _num(used)))
    return gpus


def _run(cmd: Sequence[str]) -> tuple[int, str, str]:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=10, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def detect_gpus(runner: Runner | None = None) -> GPUReport:
    """Run ``nvidia-smi`` and parse it; any failure means a CPU-only report that says why. Never raises."""
    run = runner or _run
    try:
        code, out, err = run(NVIDIA_SMI_QUERY)
    except FileNotFoundError:
        return GPUReport(detail="nvidia-smi not found: no NVIDIA driver, models run on the CPU")
    except (OSError, subprocess.SubprocessError) as exc:
        return GPUReport(detail=f"nvidia-smi could not run ({type(exc).__name__}): models run on the CPU")
    if code != 0:
        first = (err or out).strip().splitlines()[:1]
        why = first[0] if first else f"exit code {code}"
        return GPUReport(detail=f"nvidia-smi failed: {why}")
    gpus = parse_nvidia_smi(out)
    if not gpus:
        return GPUReport(detail="nvidia-smi found no GPU: models run on the CPU")
    return GPUReport(tuple(gpus), detail=f"nvidia-smi: {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}")


def system_memory_gb() -> float:
    """Total system RAM in GB (0 when the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return 0.0


def resolve_budget(
    config: Config | None = None,
    report: GPUReport | None = None,
    *,
    override_gb: float | None = None,
    ram_gb: float | None = None,
) -> Budget:
    """The planning budget: ``override_gb`` → ``[defaults] vram_budget_gb`` → detected VRAM → half the RAM."""
    report = report if report is not None else GPUReport(detail="not detected")
    device: Literal["VRAM", "memory"] = "memory" if report.cpu_only else "VRAM"
    if override_gb is not None:
        return Budget(round(override_gb, 2), "flag", device, "from --budget")
    configured = config.defaults.vram_budget_gb if config is not None else None
    if configured is not None:
        return Budget(round(configured, 2), "config", device, "from [defaults] vram_budget_gb")
    if not report.cpu_only:
        names = ", ".join(f"{g.name} {g.total_gb:.1f} GB" for g in report.gpus)
        return Budget(round(report.total_gb, 2), "gpu", "VRAM", names)
    ram = system_memory_gb() if ram_gb is None else ram_gb
    return Budget(round(ram / 2, 2), "ram", "RAM", f"CPU only: half of {ram:.1f} GB RAM")


__all__ = [
    "GPU",
    "NVIDIA_SMI_QUERY",
    "Budget",
    "GPUReport",
    "detect_gpus",
    "parse_nvidia_smi",
    "resolve_budget",
    "system_memory_gb",
]
