"""The records model operations return and the events ``setup`` reports while it runs.

:class:`BackendCheck` (one backend's reachability), :class:`PullOutcome` (one inventory model's fate during
setup), :class:`SetupReport` (all of them), :class:`OpsEvent` (progress for displays, delivered to an
:data:`OnEvent` callback through :func:`emit_event`) and :class:`LoadedModel` (one row of ``offload ps``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from offload.types import PullProgress

PullStatus = Literal["present", "pulled", "failed", "skipped"]
EventKind = Literal["check", "start", "progress", "resume", "done"]


@dataclass(frozen=True)
class BackendCheck:
    """One backend's reachability, with how to start it when it is down."""

    name: str
    kind: str
    ok: bool
    detail: str = ""
    hint: str | None = None
    can_pull: bool = False


@dataclass
class PullOutcome:
    """What happened to one inventory model during setup."""

    model: str
    backend: str
    status: PullStatus
    detail: str = ""
    attempts: int = 0
    hint: str | None = None
    required: bool = True
    #: The :mod:`offload.errors` code of the failure (e.g. ``model_not_found``), when it failed.
    error_code: str | None = None


@dataclass(frozen=True)
class OpsEvent:
    """A setup event for progress displays (``progress`` carries the backend's own pull progress)."""

    kind: EventKind
    model: str | None = None
    progress: PullProgress | None = None
    detail: str = ""
    check: BackendCheck | None = None
    outcome: PullOutcome | None = None


@dataclass
class SetupReport:
    """Every backend check and every model outcome."""

    checks: list[BackendCheck] = field(default_factory=list)
    outcomes: list[PullOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every required model is present or pulled."""
        return all(o.status in ("present", "pulled", "skipped") for o in self.outcomes if o.required)


@dataclass(frozen=True)
class LoadedModel:
    """A model in memory now, as ``offload ps`` shows it."""

    name: str
    backend: str
    vram_gb: float
    size_gb: float | None
    expires_at: str | None
    expires_in: str
    in_inventory: bool
    context_window: int | None = None


#: Receives setup events; may be a coroutine function (its result is awaited).
OnEvent = Callable[[OpsEvent], Any]


async def emit_event(on_event: OnEvent | None, event: OpsEvent) -> None:
    """Deliver ``event`` to ``on_event`` (when there is one), awaiting it if it is a coroutine function."""
    if on_event is not None:
        result = on_event(event)
        if inspect.isawaitable(result):
            await result


__all__ = [
    "BackendCheck",
    "EventKind",
    "LoadedModel",
    "OnEvent",
    "OpsEvent",
    "PullOutcome",
    "PullStatus",
    "SetupReport",
    "emit_event",
]
