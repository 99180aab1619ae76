"""Model operations: GPU detection, the VRAM planner, residency (anti-thrash) and setup / pull / load / unload.

- :mod:`offload.models.gpu` — ``nvidia-smi`` detection and the planning budget.
- :mod:`offload.models.planner` — pure: workflow phases, the models each needs, overflow and suggestions.
- :mod:`offload.models.residency` — pure: loaded-model preference and when a request may evict a model.
- :mod:`offload.models.ops` — :class:`ModelManager`: check backends, pull with progress and resume, ps, load.
- :mod:`offload.models.tracker` — :class:`ResidencyTracker`: cached ``ps`` with load / use times.

Example inventories for common GPUs ship in ``offload/data/inventories`` (see :func:`inventory_path`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from offload.errors import ConfigError
from offload.models.gpu import Budget, GPUReport, detect_gpus, resolve_budget
from offload.models.ops import ModelManager, normalize_keep_alive, start_hint
from offload.models.planner import DEFAULT_WORKFLOW, Plan, Workflow, load_workflow, plan_workflow
from offload.models.residency import Decision, ResidencyRule, Resident, decide, loaded_names, prefer_loaded
from offload.models.tracker import ResidencyTracker

#: Example inventories by name, with the (V)RAM each is written for (GB; 0 = CPU only).
INVENTORIES: dict[str, float] = {"gpu-32gb": 32.0, "gpu-24gb": 24.0, "gpu-12gb": 12.0, "cpu-only": 0.0}


def inventory_path(name: str) -> Path:
    """The path of a bundled example inventory (``gpu-24gb``, ``gpu-32gb``, ``gpu-12gb``, ``cpu-only``)."""
    if name not in INVENTORIES:
        raise ConfigError(f"no bundled inventory {name!r}", hint=f"choose one of {', '.join(INVENTORIES)}")
    return Path(str(resources.files("offload") / "data" / "inventories" / f"{name}.toml"))


def suggest_inventory(vram_gb: float) -> str:
    """The bundled inventory written for the largest GPU that is not larger than ``vram_gb``."""
    fitting = [(gb, n) for n, gb in INVENTORIES.items() if gb <= vram_gb + 0.5]
    return max(fitting)[1] if fitting else "cpu-only"


__all__ = [
    "DEFAULT_WORKFLOW",
    "INVENTORIES",
    "Budget",
    "Decision",
    "GPUReport",
    "ModelManager",
    "Plan",
    "ResidencyRule",
    "ResidencyTracker",
    "Resident",
    "Workflow",
    "decide",
    "detect_gpus",
    "inventory_path",
    "load_workflow",
    "loaded_names",
    "normalize_keep_alive",
    "plan_workflow",
    "prefer_loaded",
    "resolve_budget",
    "start_hint",
    "suggest_inventory",
]
