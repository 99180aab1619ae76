"""Shared CLI plumbing: the global options, one Offload per invocation, error rendering."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from offload.errors import OffloadError
from offload.redact import default_redactor

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    """Per-invocation state set by the root callback."""

    config_path: str | None = None
    _offload: Any = field(default=None, repr=False)

    def offload(self) -> Any:
        """The :class:`offload.Offload` for this invocation (built on first use)."""
        if self._offload is None:
            from offload.api import Offload

            self._offload = Offload(self.config_path, source="cli")
        return self._offload

    def close(self) -> None:
        if self._offload is not None:
            self._offload.close()
            self._offload = None


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def render_error(exc: OffloadError) -> None:
    """Print an offload error as ``error: …`` / ``hint: …`` on stderr (redacted, no traceback)."""
    red = default_redactor()
    err_console.print(f"[bold red]error:[/] {escape(red.text(exc.message))}", highlight=False, soft_wrap=True)
    if exc.hint:
        err_console.print(f"[yellow]hint:[/] {escape(red.text(exc.hint))}", highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()
