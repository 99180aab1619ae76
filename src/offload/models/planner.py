"""The VRAM planner (pure): which models each phase of a workflow needs, and whether they fit together.

A workflow is a list of phases (understand, scaffold + mock data, build, test + verify, harden, deliver); each
phase *needs* roles (``code``, ``vision`` ...) or named models. A role resolves to the first inventory model
that has it (inventory order is preference), reusing a model the phase already holds when it serves the role.
The models of one phase must be resident together, so their VRAM is summed and checked against the budget.
An overflowing phase gets concrete suggestions: swap a model for a smaller one with the same roles, use a
smaller quantization, drop a model whose roles another one covers, or run the models one after the other.

Models on cloud backends and the in-process embedded model cost no VRAM. Quantization sizes are estimates
from llama.cpp bits per weight (the KV cache and runtime overhead, ~15%, do not shrink).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from offload.config import ModelSpec
from offload.models.workflow import DEFAULT_WORKFLOW, ROLES, Phase, Workflow, load_workflow, parse_workflow

#: Bits per weight of common GGUF quantizations, best first (llama.cpp figures, rounded).
QUANT_BITS: dict[str, float] = {
    "fp16": 16.0,
    "q8_0": 8.5,
    "q6_k": 6.56,
    "q5_k_m": 5.69,
    "q4_k_m": 4.85,
    "q3_k_m": 3.91,
    "q2_k": 3.35,
}
QUANT_LABELS = {
    "fp16": "fp16",
    "q8_0": "q8_0",
    "q6_k": "q6_K",
    "q5_k_m": "q5_K_M",
    "q4_k_m": "q4_K_M",
    "q3_k_m": "q3_K_M",
    "q2_k": "q2_K",
}
#: Ollama's default quantization, assumed when the inventory does not say.
DEFAULT_QUANT = "q4_k_m"
#: Share of a model's VRAM that does not shrink with quantization (KV cache, buffers).
FIXED_SHARE = 0.15

SuggestionKind = Literal["swap", "quantize", "drop", "sequential", "too_large", "missing"]


@dataclass(frozen=True)
class PlannedModel:
    """A model a phase holds: its VRAM cost and the needs it serves there."""

    name: str
    vram_gb: float
    serves: tuple[str, ...]
    #: False for cloud models and the in-process embedded model: they take none of the budget.
    uses_memory: bool = True
    quantization: str | None = None


@dataclass(frozen=True)
class Suggestion:
    """A way to make an overflowing phase fit (``resolves`` = applying it alone makes the phase fit)."""

    kind: SuggestionKind
    text: str
    model: str | None = None
    replacement: str | None = None
    saves_gb: float = 0.0
    resolves: bool = False


@dataclass(frozen=True)
class PhasePlan:
    """The models of one phase, their total against the budget, and what to do when they do not fit."""

    phase: Phase
    models: tuple[PlannedModel, ...]
    total_gb: float
    budget_gb: float
    missing: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    #: Models to load entering this phase, and models the previous phase held that can be unloaded.
    loads: tuple[str, ...] = ()
    unloads: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        return self.total_gb <= self.budget_gb + 1e-9

    @property
    def overflow_gb(self) -> float:
        return round(max(0.0, self.total_gb - self.budget_gb), 2)


@dataclass(frozen=True)
class Plan:
    """A workflow checked against a budget."""

    workflow: Workflow
    budget_gb: float
    phases: tuple[PhasePlan, ...] = field(default_factory=tuple)

    @property
    def fits(self) -> bool:
        return all(p.fits for p in self.phases)

    @property
    def peak_gb(self) -> float:
        return max((p.total_gb for p in self.phases), default=0.0)


# -- quantization ------------------------------------------------------------------------------------------------
def quant_key(label: str | None) -> str | None:
    """The table key of a quantization label (``Q4_K_M`` → ``q4_k_m``; ``f16`` → ``fp16``), or None."""
    if not label:
        return None
    key = label.strip().lower().replace("-", "_")
    key = {"f16": "fp16", "bf16": "fp16", "q4_k": "q4_k_m", "q5_k": "q5_k_m", "q3_k": "q3_k_m"}.get(key, key)
    return key if key in QUANT_BITS else None


def estimate_vram(vram_gb: float, current: str | None, target: str) -> float:
    """The VRAM ``vram_gb`` (at quantization ``current``) would take at quantization ``target``."""
    cur = quant_key(current) or DEFAULT_QUANT
    tgt = quant_key(target)
    if tgt is None:
        raise ValueError(f"unknown quantization {target!r}; known: {', '.join(QUANT_LABELS.values())}")
    ratio = QUANT_BITS[tgt] / QUANT_BITS[cur]
    return round(vram_gb * (FIXED_SHARE + (1 - FIXED_SHARE) * ratio), 2)


def smaller_quants(current: str | None) -> list[str]:
    """Quantizations below ``current`` (best first)."""
    keys = list(QUANT_BITS)
    cur = quant_key(current) or DEFAULT_QUANT
    return keys[keys.index(cur) + 1 :]


# -- planning ----------------------------------------------------------------------------------------------------
def _costs_vram(spec: ModelSpec, local_backends: set[str] | None) -> bool:
    if local_backends is not None and spec.backend not in local_backends:
        return False
    return spec.vram_gb > 0


def _resolve(need: str, chosen: list[ModelSpec], inventory: Sequence[ModelSpec]) -> ModelSpec | None:
    by_name = {m.name: m for m in inventory}
    if need in by_name:
        return by_name[need]
    for m in chosen:
        if need in m.roles:
            return m
    return next((m for m in inventory if need in m.roles), None)


def _planned(spec: ModelSpec, serves: list[str], local_backends: set[str] | None) -> PlannedModel:
    uses = _costs_vram(spec, local_backends)
    return PlannedModel(spec.name, spec.vram_gb if uses else 0.0, tuple(serves), uses, spec.quantization)


def plan_phase(
    phase: Phase,
    inventory: Sequence[ModelSpec],
    budget_gb: float,
    *,
    local_backends: set[str] | None = None,
) -> PhasePlan:
    """Resolve one phase's needs and check them against ``budget_gb`` (no transitions)."""
    chosen: list[ModelSpec] = []
    serves: dict[str, list[str]] = {}
    missing: list[str] = []
    for need in phase.needs:
        spec = _resolve(need, chosen, inventory)
        if spec is None:
            missing.append(need)
            continue
        if spec not in chosen:
            chosen.append(spec)
        serves.setdefault(spec.name, []).append(need)
    models = tuple(_planned(m, serves[m.name], local_backends) for m in chosen)
    total = round(sum(m.vram_gb for m in models), 2)
    plan = PhasePlan(phase, models, total, budget_gb, tuple(missing))
    suggestions = [
        Suggestion("missing", f'no model serves {n!r}: add one with roles = ["{n}"] to the inventory')
        if n in ROLES
        else Suggestion("missing", f"{n!r} is neither a role nor an inventory model: fix the workflow")
        for n in missing
    ]
    if not plan.fits:
        suggestions += suggest(plan, inventory, local_backends=local_backends)
    return PhasePlan(phase, models, total, budget_gb, tuple(missing), tuple(suggestions))


def suggest(
    plan: PhasePlan, inventory: Sequence[ModelSpec], *, local_backends: set[str] | None = None, limit: int = 5
) -> list[Suggestion]:
    """Ways to make an overflowing phase fit, those that fix it alone first."""
    budget, total, over = plan.budget_gb, plan.total_gb, plan.total_gb - plan.budget_gb
    in_phase = {m.name for m in plan.models}
    by_name = {m.name: m for m in inventory}
    out: list[Suggestion] = []
    local_models = sorted((m for m in plan.models if m.uses_memory), key=lambda m: -m.vram_gb)
    for pm in local_models:
        if pm.vram_gb > budget:
            out.append(
                Suggestion(
                    "too_large",
                    f"{pm.name} ({pm.vram_gb:.1f} GB) alone exceeds the {budget:.1f} GB "
                    "budget: Ollama would run part of it on the CPU (slow)",
                    model=pm.name,
                )
            )
        roles = [r for r in pm.serves if r in ROLES]
        # swap for a smaller model that serves the same roles
        alts = [
            m
            for m in inventory
            if m.name not in in_phase
            and _costs_vram(m, local_backends)
            and m.vram_gb < pm.vram_gb
            and roles
            and all(r in m.roles for r in roles)
        ]
        if alts:
            fitting = [a for a in alts if total - pm.vram_gb + a.vram_gb <= budget]
            alt = max(fitting, key=lambda a: a.vram_gb) if fitting else min(alts, key=lambda a: a.vram_gb)
            saves = round(pm.vram_gb - alt.vram_gb, 2)
            out.append(
                Suggestion(
                    "swap",
                    f"use {alt.name} ({alt.vram_gb:.1f} GB) instead of {pm.name} "
                    f"({pm.vram_gb:.1f} GB) for {', '.join(roles)}: saves {saves:.1f} GB",
                    model=pm.name,
                    replacement=alt.name,
                    saves_gb=saves,
                    resolves=bool(fitting),
                )
            )
        # the best smaller quantization that makes the phase fit (or, for a model too big alone, fit alone)
        for q in smaller_quants(pm.quantization):
            est = estimate_vram(pm.vram_gb, pm.quantization, q)
            fits = total - pm.vram_gb + est <= budget
            if fits or (pm.vram_gb > budget and est <= budget):
                cur = QUANT_LABELS[quant_key(pm.quantization) or DEFAULT_QUANT]
                out.append(
                    Suggestion(
                        "quantize",
                        f"pull a {QUANT_LABELS[q]} build of {pm.name} (≈{est:.1f} GB "
                        f"instead of {pm.vram_gb:.1f} GB at {cur}; some quality loss)",
                        model=pm.name,
                        replacement=QUANT_LABELS[q],
                        saves_gb=round(pm.vram_gb - est, 2),
                        resolves=fits,
                    )
                )
                break
        # drop a model whose needs another model of the phase also covers
        others = [by_name[o.name] for o in plan.models if o.name != pm.name and o.name in by_name]
        covered = [r for r in pm.serves if any(r in o.roles for o in others)]
        if covered and len(covered) == len(pm.serves):
            out.append(
                Suggestion(
                    "drop",
                    f"drop {pm.name}: {', '.join(covered)} is also served by "
                    f"{', '.join(o.name for o in others if any(r in o.roles for r in covered))}",
                    model=pm.name,
                    saves_gb=pm.vram_gb,
                    resolves=pm.vram_gb >= over,
                )
            )
    if len(local_models) > 1 and all(m.vram_gb <= budget for m in local_models):
        names = " and ".join(m.name for m in local_models)
        out.append(
            Suggestion(
                "sequential",
                f"or keep the models and run them one after the other: {names} each "
                "fit alone, Ollama swaps them (every switch costs a reload)",
            )
        )
    out.sort(key=lambda s: (not s.resolves, s.kind == "sequential", -s.saves_gb))
    return out[:limit]


def plan_workflow(
    workflow: Workflow,
    inventory: Sequence[ModelSpec],
    budget_gb: float,
    *,
    local_backends: set[str] | None = None,
) -> Plan:
    """Plan every phase and the loads / unloads between consecutive phases.

    ``local_backends`` names the backends whose models use this machine's (V)RAM; ``None`` counts every model
    with a ``vram_gb`` (cloud models in an inventory have 0).
    """
    phases: list[PhasePlan] = []
    previous: set[str] = set()
    for phase in workflow.phases:
        p = plan_phase(phase, inventory, budget_gb, local_backends=local_backends)
        here = [m.name for m in p.models if m.uses_memory]
        loads = tuple(n for n in here if n not in previous)
        unloads = tuple(sorted(previous - set(here)))
        phases.append(PhasePlan(p.phase, p.models, p.total_gb, p.budget_gb, p.missing, p.suggestions, loads, unloads))
        previous = set(here)
    return Plan(workflow, budget_gb, tuple(phases))


__all__ = [
    "DEFAULT_WORKFLOW",
    "Phase",
    "PhasePlan",
    "Plan",
    "PlannedModel",
    "QUANT_BITS",
    "Suggestion",
    "Workflow",
    "estimate_vram",
    "load_workflow",
    "parse_workflow",
    "plan_phase",
    "plan_workflow",
    "smaller_quants",
    "suggest",
]
