"""Models in memory: list them (``ps``), load one for a keep-alive, unload one, ask a backend about one.

:func:`normalize_keep_alive` turns a user's keep-alive into the value Ollama takes; the default is
``[defaults] keep_alive`` from the config. :class:`LoadedOps` skips backends that cannot tell or that the
engine's circuit breakers know to be down.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from offload.errors import BackendUnavailable, InvalidRequest, OffloadError
from offload.models.ops_base import ManagerBase
from offload.models.ops_records import LoadedModel
from offload.models.residency import Resident, residents_from_ps
from offload.types import ModelInfo

_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def normalize_keep_alive(value: str | int | float | None, default: str) -> str | int:
    """A keep-alive as Ollama takes it: a duration (``"5m"``, ``"1h30m"``), seconds, ``0`` or ``-1`` (forever)."""
    if value is None:
        value = default
    if isinstance(value, bool):
        raise InvalidRequest("keep_alive must be a duration like 5m, seconds, 0 or -1", hint="e.g. --keep-alive 30m")
    if isinstance(value, int | float):
        return -1 if value < 0 else int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return -1 if int(text) < 0 else int(text)
    if text.startswith("-") and _DURATION.match(text[1:]):
        return -1
    if not _DURATION.match(text):
        raise InvalidRequest(
            f"keep_alive {text!r} is not a duration",
            hint="use e.g. 30s, 5m, 1h30m, a number of seconds, 0 (unload now) or -1 (keep forever)",
        )
    return text


def expires_in(expires_at: str | None, now: float, pinned: bool) -> str:
    """How long a loaded model stays, for display (``in 4m 05s``, ``never (pinned)``, ``expiring``, ``?``)."""
    if pinned:
        return "never (pinned)"
    if not expires_at:
        return "?"
    try:
        left = datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp() - now
    except ValueError:
        return "?"
    if left <= 0:
        return "expiring"
    m, s = divmod(int(left), 60)
    h, m = divmod(m, 60)
    return f"in {h}h {m:02d}m" if h else f"in {m}m {s:02d}s" if m else f"in {s}s"


class LoadedOps(ManagerBase):
    """``ps``, load, unload and show (part of :class:`offload.models.ops.ModelManager`)."""

    async def ps_raw(self) -> list[ModelInfo]:
        """``ps`` of every backend that can tell (backends that are down are skipped)."""
        out: list[ModelInfo] = []
        for name in self.config.backends:
            if self._board is not None and self._board.breaker(name).state != "closed":
                continue  # a backend known to be down costs nothing here
            try:
                backend = self._backend(name)
                if backend.capabilities.ps:
                    out.extend(await backend.ps())  # type: ignore[attr-defined]
            except BackendUnavailable as exc:
                if self._board is not None:
                    self._board.record_failure(name, exc.message, hard=True)
                continue
            except (OffloadError, ImportError):
                continue
        return out

    async def residents(self, **kw: Any) -> list[Resident]:
        """Loaded models as :class:`Resident` (the input of the anti-thrash rule)."""
        return residents_from_ps(await self.ps_raw(), self.config.models, now=self._clock(), **kw)

    async def ps(self) -> list[LoadedModel]:
        """Loaded models with VRAM each and when they expire."""
        infos = await self.ps_raw()
        now = self._clock()
        rows = []
        for info, res in zip(infos, residents_from_ps(infos, self.config.models, now=now), strict=True):
            rows.append(
                LoadedModel(
                    name=res.name,
                    backend=res.backend,
                    vram_gb=res.vram_gb,
                    size_gb=round(info.size_bytes / 1024**3, 2) if info.size_bytes else None,
                    expires_at=info.expires_at,
                    expires_in=expires_in(info.expires_at, now, res.pinned),
                    in_inventory=self.config.model(res.name) is not None,
                    context_window=info.context_window,
                )
            )
        return rows

    async def load(self, name: str, keep_alive: str | int | None = None) -> str | int:
        """Load ``name`` and keep it for ``keep_alive`` (default ``[defaults] keep_alive``); returns the value used."""
        spec = self.spec(name)
        ka = normalize_keep_alive(keep_alive, self.config.defaults.keep_alive)
        await self._ops(spec, "load").load(spec.upstream_name, ka)
        return ka

    async def unload(self, name: str) -> None:
        """Unload ``name`` now."""
        spec = self.spec(name)
        await self._ops(spec, "unload").unload(spec.upstream_name)

    async def show(self, name: str) -> ModelInfo:
        """What the backend says about an inventory model."""
        spec = self.spec(name)
        return await self._ops(spec, "ps").show(spec.upstream_name)  # type: ignore[no-any-return]


__all__ = ["LoadedOps", "expires_in", "normalize_keep_alive"]
