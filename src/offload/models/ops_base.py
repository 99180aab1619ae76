"""The core every model operation builds on: the config, the backend lookup, and finding an inventory model.

:class:`ManagerBase` holds what :class:`offload.models.ops.ModelManager` is built from (config, backend lookup,
resume policy, injectable sleep and clock, the engine's circuit breakers), resolves a name to its inventory
:class:`~offload.config.ModelSpec` and checks that the model's backend can perform an operation. The
operations themselves live in :mod:`offload.models.ops_setup` and :mod:`offload.models.ops_loaded`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self

from offload.backends.base import Backend
from offload.config import Config, ModelSpec
from offload.errors import InvalidRequest, UnknownModel


def tagged_name(name: str) -> str:
    """A model name with its tag made explicit, as Ollama lists it (``qwen3`` → ``qwen3:latest``)."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class ManagerBase:
    """Construction and inventory lookups shared by every model operation."""

    def __init__(
        self,
        config: Config,
        backend: Callable[[str], Backend],
        *,
        max_resumes: int = 3,
        resume_delay_s: float = 1.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        board: Any = None,
    ) -> None:
        self.config = config
        self._backend = backend
        #: The engine's circuit breakers: ``ps`` skips a backend whose breaker is not closed and reports failures.
        self._board = board
        self.max_resumes = max_resumes
        self.resume_delay_s = resume_delay_s
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_engine(cls, engine: Any, **kw: Any) -> Self:
        """A manager over an :class:`offload.engine.Engine`'s config and backends."""
        kw.setdefault("board", getattr(engine, "board", None))
        return cls(engine.config, engine.backend, **kw)

    # -- lookups ------------------------------------------------------------------------------------------------
    def spec(self, name: str) -> ModelSpec:
        """The inventory model called ``name`` (or served upstream as ``name``)."""
        found = self.config.model(name) or next(
            (m for m in self.config.models if tagged_name(m.upstream_name) == tagged_name(name)), None
        )
        if found is None:
            raise UnknownModel(
                f"model {name!r} is not in the inventory",
                hint=f"use one of {[m.name for m in self.config.models]} or add it to offload.toml",
            )
        return found

    def _ops(self, spec: ModelSpec, what: str) -> Any:
        backend = self._backend(spec.backend)
        caps = backend.capabilities
        if not (caps.pull if what == "pull" else caps.keep_alive if what in ("load", "unload") else caps.ps):
            raise InvalidRequest(
                f"backend {spec.backend!r} ({backend.kind}) cannot {what} models",
                hint="model operations work on Ollama backends; manage this one in its own server",
            )
        return backend


__all__ = ["ManagerBase", "tagged_name"]
