"""Installing a bundled example inventory as the configuration file (``offload setup --inventory NAME``).

The example inventories (``gpu-32gb``, ``gpu-24gb``, ``gpu-12gb``, ``cpu-only``) ship inside the package; this
writes one to where offload reads its configuration, so a fresh machine needs no hand-copying. An existing,
different file is never overwritten silently: ``force`` replaces it and keeps the old one beside it as
``.bak``. The write is atomic (a temporary file renamed over the target).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from offload.errors import ConfigError
from offload.models import INVENTORIES, inventory_path, suggest_inventory
from offload.models.gpu import GPUReport


@dataclass(frozen=True)
class Installed:
    """What :func:`install_inventory` did."""

    name: str
    path: Path
    #: Where the replaced file was kept (``force`` over a different file), else None.
    backup: Path | None = None
    #: The file already held exactly this inventory: nothing was written.
    unchanged: bool = False


def choose_inventory(name: str, detect: Callable[[], GPUReport]) -> str:
    """``name`` checked against the bundled inventories; ``auto`` picks the one written for the GPU ``detect``
    finds (called only then)."""
    key = name.strip().lower()
    if key == "auto":
        gpus = detect()
        return suggest_inventory(0.0 if gpus.cpu_only else gpus.total_gb)
    if key not in INVENTORIES:
        raise ConfigError(
            f"no bundled inventory {name!r}",
            hint=f"choose one of {', '.join(INVENTORIES)}, or auto (the one for the detected GPU)",
        )
    return key


def install_inventory(name: str, target: Path, *, force: bool = False) -> Installed:
    """Write the bundled inventory ``name`` to ``target`` (refusing to replace a different file unless ``force``)."""
    text = inventory_path(name).read_text(encoding="utf-8")
    backup = None
    if target.exists():
        current = target.read_text(encoding="utf-8", errors="replace")
        if current == text:
            return Installed(name, target, unchanged=True)
        if not force:
            raise ConfigError(
                f"{target} already exists and is not the {name} inventory",
                hint="pass --force to replace it (the current file is kept as a .bak beside it), "
                "or --config another path",
            )
        backup = target.with_name(target.name + ".bak")
        backup.write_text(current, encoding="utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the inventory to {target}: {exc.strerror or exc}",
            hint="pass --config a writable path, or set OFFLOAD_CONFIG",
        ) from exc
    return Installed(name, target, backup=backup)


__all__ = ["Installed", "choose_inventory", "install_inventory"]
