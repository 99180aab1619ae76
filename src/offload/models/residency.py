"""Residency (pure): which models are loaded, which candidate a request should take, and when it may evict.

**The anti-thrash rule.** Walk a route's candidates in the policy's order and take the first local one that
can run *without thrashing*:

1. a candidate that is already **resident** runs as is;
2. a candidate that **fits in the free budget** next to the residents is loaded, nothing is evicted;
3. a candidate that needs room may **evict** residents, least recently used first, but only residents that are
   **not protected**. A resident is protected while it was loaded less than ``min_residency_s`` ago (default
   120 s), and always when it is pinned (loaded with ``keep_alive = -1``);
4. when only evicting a protected resident would make room, and a *resident* candidate further down the route
   can serve the request, that resident candidate is moved ahead — the request does not evict a model that was
   just loaded. When no resident candidate can serve it, correctness wins: the protected model is evicted.

So two requests that alternate between two models that do not fit together cause at most one swap per
``min_residency_s`` instead of a reload on every request. Cloud candidates keep their place in the route.

The resident set (:func:`loaded_names`) is also what the router's ``plan_route(..., loaded=...)`` takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from offload.config import ModelSpec
from offload.types import ModelInfo

T = TypeVar("T")
GIB = 1024**3
#: ``expires_at`` further away than this means ``keep_alive = -1`` (Ollama reports a date centuries ahead).
PINNED_AFTER_S = 50 * 365 * 86400.0


@dataclass(frozen=True)
class ResidencyRule:
    """Parameters of the anti-thrash rule."""

    #: A model loaded less than this many seconds ago is protected from eviction.
    min_residency_s: float = 120.0
    #: Pinned models (``keep_alive = -1``) are protected for as long as they stay loaded.
    protect_pinned: bool = True


@dataclass(frozen=True)
class Resident:
    """A model loaded in memory now (``name`` is the inventory name when the model is in the inventory)."""

    name: str
    backend: str
    vram_gb: float
    #: When offload first saw it loaded (epoch seconds); None = unknown, treated as loaded long ago.
    loaded_at: float | None = None
    #: When it last served a request (epoch seconds), if known.
    last_used: float | None = None
    pinned: bool = False
    expires_at: str | None = None

    def protected(self, now: float, rule: ResidencyRule) -> bool:
        """True while the rule forbids evicting it for a request a resident model could serve."""
        if self.pinned and rule.protect_pinned:
            return True
        return self.loaded_at is not None and now - self.loaded_at < rule.min_residency_s


@dataclass(frozen=True)
class Decision:
    """Which candidate to run and what to unload first (names are inventory names)."""

    run: str | None
    evict: tuple[str, ...] = ()
    reason: str = ""
    #: The candidates in the order to try them (the route, with the anti-thrash reordering applied).
    order: tuple[str, ...] = ()


def _norm(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def residents_from_ps(
    infos: Sequence[ModelInfo],
    inventory: Sequence[ModelSpec],
    *,
    now: float,
    loaded_at: Mapping[str, float] | None = None,
    last_used: Mapping[str, float] | None = None,
) -> list[Resident]:
    """Turn ``ps`` answers into residents named as in the inventory (VRAM from ``ps``, else the inventory)."""
    by_upstream = {(m.backend, _norm(m.upstream_name)): m for m in inventory}
    out: list[Resident] = []
    for info in infos:
        spec = by_upstream.get((info.backend, _norm(info.name)))
        name = spec.name if spec else info.name
        if info.vram_bytes is not None:
            vram = round(info.vram_bytes / GIB, 2)
        else:
            vram = spec.vram_gb if spec else round((info.size_bytes or 0) / GIB, 2)
        expires = _epoch(info.expires_at)
        out.append(
            Resident(
                name=name,
                backend=info.backend,
                vram_gb=vram,
                loaded_at=(loaded_at or {}).get(name),
                last_used=(last_used or {}).get(name),
                pinned=expires is not None and expires - now > PINNED_AFTER_S,
                expires_at=info.expires_at,
            )
        )
    return out


def loaded_names(residents: Sequence[Resident]) -> set[str]:
    """The resident model names: the ``loaded`` input of the router's ``plan_route``."""
    return {r.name for r in residents}


def prefer_loaded(
    candidates: Sequence[T],
    loaded: set[str],
    *,
    name: Callable[[T], str] = str,
    is_local: Callable[[T], bool] = lambda _c: True,
) -> list[T]:
    """Resident local candidates first among the local ones (stable); cloud candidates keep their slots."""
    slots = [i for i, c in enumerate(candidates) if is_local(c)]
    local = [candidates[i] for i in slots]
    ordered = [c for c in local if name(c) in loaded] + [c for c in local if name(c) not in loaded]
    out = list(candidates)
    for i, c in zip(slots, ordered, strict=True):
        out[i] = c
    return out


def _recency(r: Resident) -> float:
    return max(x for x in (r.last_used, r.loaded_at, float("-inf")) if x is not None)


def _victims(need_gb: float, residents: Sequence[Resident]) -> tuple[list[Resident], float]:
    freed, chosen = 0.0, []
    for r in sorted(residents, key=_recency):
        if freed >= need_gb - 1e-9:
            break
        chosen.append(r)
        freed += r.vram_gb
    return chosen, freed


def decide(
    candidates: Sequence[ModelSpec],
    residents: Sequence[Resident],
    budget_gb: float,
    *,
    now: float,
    rule: ResidencyRule | None = None,
    is_local: Callable[[ModelSpec], bool] = lambda m: m.vram_gb > 0,
) -> Decision:
    """Apply the anti-thrash rule to a route's candidates (see the module docstring)."""
    rule = rule or ResidencyRule()
    names = [c.name for c in candidates]
    resident = {r.name: r for r in residents}
    used = sum(r.vram_gb for r in residents)
    for i, cand in enumerate(candidates):
        if not is_local(cand):
            return Decision(cand.name, (), "cloud candidate: no local memory needed", tuple(names))
        if cand.name in resident:
            return Decision(cand.name, (), f"{cand.name} is already loaded", tuple(names))
        free = budget_gb - used
        if cand.vram_gb <= free + 1e-9:
            return Decision(
                cand.name, (), f"{cand.name} ({cand.vram_gb:.1f} GB) fits in the free {free:.1f} GB", tuple(names)
            )
        need = cand.vram_gb - free
        open_ = [r for r in residents if not r.protected(now, rule)]
        victims, freed = _victims(need, open_)
        if freed >= need - 1e-9:
            ev = tuple(v.name for v in victims)
            return Decision(
                cand.name,
                ev,
                f"loading {cand.name} evicts {', '.join(ev)} (least recently used, not protected)",
                tuple(names),
            )
        later = [c for c in candidates[i + 1 :] if c.name in resident]
        if later:
            alt = later[0]
            order = [alt.name] + [n for n in names if n != alt.name]
            protected = [r.name for r in residents if r.protected(now, rule)]
            return Decision(
                alt.name,
                (),
                f"anti-thrash: loading {cand.name} would evict {', '.join(protected)}, "
                f"loaded less than {rule.min_residency_s:.0f} s ago or pinned; {alt.name} is loaded and "
                "serves the request",
                tuple(order),
            )
        victims, _ = _victims(need, residents)
        ev = tuple(v.name for v in victims)
        return Decision(
            cand.name,
            ev,
            f"no loaded model can serve this request: loading {cand.name} evicts "
            f"{', '.join(ev) or 'nothing'} even though protected",
            tuple(names),
        )
    return Decision(None, (), "no candidates", tuple(names))


__all__ = [
    "Decision",
    "Resident",
    "ResidencyRule",
    "decide",
    "loaded_names",
    "prefer_loaded",
    "residents_from_ps",
]
