"""Policy: a task profile, the inventory and backend health in; an ordered, explained route out. Pure.

1. A concrete model asked for by name is a one-candidate route (unknown names raise :class:`UnknownModel`).
2. Otherwise the first matching ``[[policy.rules]]`` names candidates by role or model name; they are
   expanded from the inventory and ordered by the rule's ``prefer`` (cheapest: local before cloud, then the
   rule's order, loaded models first, smaller first). A Claude Code scenario (set by the gateway) maps to
   ``local`` (local only), ``cloud`` (strongest first, local behind it) or a model name (``[policy.claude_code]``).
3. Each candidate is kept or skipped, with the reason: locality, a hard capability (vision for images, embed
   for embeddings), the context window, backend health, a soft capability (tools, json).
4. When nothing of the rule is usable, any usable inventory model is taken (a *fallback*) — never a cloud one
   for a rule without cloud candidates, and not at all when the rule's own models are merely down (the task
   then waits, ``queued``). When still nothing, soft capabilities are relaxed. An empty route explains itself
   via :meth:`Route.raise_if_empty`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from offload.errors import ContextOverflow, NoRouteAvailable, UnknownModel, UnsupportedContent
from offload.routing.classify import TaskProfile
from offload.routing.health import HealthView
from offload.routing.policy_config import AcceptUnverified, CandidateRef, PolicyConfig, Prefer, Rule

if TYPE_CHECKING:
    from offload.config import Config, ModelSpec

#: Scenarios that want the strongest model allowed (the agent loop), not the cheapest.
_STRONG_SCENARIOS = frozenset({"main_loop", "thinking", "long_context", "web_search"})
#: (model, the rule entry that named it, is cloud, is loaded)
_Row = tuple["ModelSpec", CandidateRef | None, bool, bool]
SkipReason = Literal["locality", "capability", "context", "unhealthy", "missing"]


@dataclass(frozen=True)
class Budget:
    """When the cascade stops trying: total attempts, wall-clock seconds, USD spent."""

    max_attempts: int = 6
    max_wall_s: float = 300.0
    max_cost_usd: float = 0.50

    @classmethod
    def from_policy(cls, policy: PolicyConfig, rule: Rule | None = None) -> Budget:
        """The policy's budget, with the rule's own limits where it sets them."""

        def pick(rule_value: float | None, default: float) -> float:
            return default if rule_value is None else rule_value

        return cls(
            max_attempts=int(pick(rule.max_attempts_total if rule else None, policy.max_attempts_total)),
            max_wall_s=pick(rule.max_wall_s if rule else None, policy.max_wall_s),
            max_cost_usd=pick(rule.max_cost_usd if rule else None, policy.max_cost_usd),
        )


@dataclass(frozen=True)
class Candidate:
    """One model the cascade may try, with how often and why it is in the route."""

    model: ModelSpec
    backend: str
    max_attempts: int = 1
    repair: bool = False
    is_cloud: bool = False
    loaded: bool = False
    why: str = ""

    @property
    def name(self) -> str:
        return self.model.name


@dataclass(frozen=True)
class Skip:
    """A model the policy considered and left out, and why."""

    model: str
    backend: str
    reason: SkipReason
    detail: str


@dataclass(frozen=True)
class Route:
    """The ordered candidates for one task, with every decision explained."""

    profile: TaskProfile
    candidates: tuple[Candidate, ...]
    skipped: tuple[Skip, ...] = ()
    #: Which rule (or scenario, or model name) produced the route.
    rule: str = ""
    accept_unverified: AcceptUnverified = True
    budget: Budget = field(default_factory=Budget)
    #: The cloud model whose price a verified local answer avoids.
    reference_model: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """One line: the profile, the rule and the candidates."""
        names = ", ".join(c.name for c in self.candidates) or "none"
        p = self.profile
        return f"{p.kind}/{p.complexity} → {self.rule}: {names}"

    def explain(self) -> str:
        """The route as plain text (profile, reasons, candidates, skips): what ``offload route`` prints."""
        from offload.routing.explain import explain

        return "\n".join(explain(self).lines())

    def to_dict(self) -> dict[str, Any]:
        """The route as JSON-able data (``offload route --json``)."""
        from offload.routing.explain import explain

        return explain(self).to_dict()

    def raise_if_empty(self) -> None:
        """Raise the error that explains an empty route (no-op when there are candidates)."""
        if self.candidates:
            return
        reasons = {s.reason for s in self.skipped}
        details = "; ".join(f"{s.model}: {s.detail}" for s in self.skipped) or "the inventory has no chat model"
        if "unhealthy" in reasons:
            exc = NoRouteAvailable(
                f"every candidate backend is down ({details})",
                hint="the task is kept as 'queued'; `offload replay --queued` runs it when a backend is back",
            )
            exc.details["all_down"] = True
            raise exc
        if reasons == {"context"}:
            raise ContextOverflow(
                f"the request (~{self.profile.estimated_tokens} tokens plus ~{self.profile.expected_output_tokens} "
                f"for the answer) fits no candidate's context window ({details})",
                hint="shorten the prompt, lower max_tokens, or add a model with a larger context_window",
            )
        if reasons == {"capability"}:
            raise UnsupportedContent(
                f"no model in the inventory can take this request ({details})",
                hint='add a model whose capabilities include what is missing (e.g. capabilities = ["vision"])',
            )
        exc = NoRouteAvailable(f"no model can serve this request ({details})", hint=_hint_for(reasons))
        exc.details["all_down"] = False
        raise exc


def _hint_for(reasons: set[SkipReason]) -> str:
    if "locality" in reasons:
        return "offload/cloud needs a cloud backend in offload.toml; offload/local needs a local model"
    return "check `offload models` and the [policy] rules (see docs/routing.md)"


# -- helpers ------------------------------------------------------------------------------------------------
def find_model(config: Config, name: str) -> ModelSpec | None:
    """An inventory model by its name, or by the name its backend knows it by."""
    spec = config.model(name)
    if spec is None:
        spec = next((m for m in config.models if m.backend_model == name), None)
    return spec


def is_cloud_model(config: Config, spec: ModelSpec) -> bool:
    backend = config.backends.get(spec.backend)
    return "cloud" in spec.roles or bool(backend is not None and backend.is_cloud)


def _has(spec: ModelSpec, capability: str) -> bool:
    return capability in spec.capabilities or capability in spec.roles


def _chat_capable(spec: ModelSpec) -> bool:
    return not (spec.roles and set(spec.roles) <= {"embed"})


def _check(
    spec: ModelSpec, cloud: bool, p: TaskProfile, health: HealthView | None, soft: bool
) -> tuple[SkipReason, str] | None:
    """Why ``spec`` cannot serve profile ``p`` (``None`` = it can)."""
    if p.locality == "local" and cloud:
        return "locality", "cloud model, but local only was asked (offload/local)"
    if p.locality == "cloud" and not cloud:
        return "locality", "local model, but cloud only was asked (offload/cloud)"
    if p.has_images and not _has(spec, "vision"):
        return "capability", "cannot see images (no vision capability)"
    if p.kind == "embedding" and not _has(spec, "embed"):
        return "capability", "not an embedding model"
    if p.total_tokens > spec.context_window:
        return "context", f"needs ~{p.total_tokens} tokens, window is {spec.context_window}"
    state = health.health_of(spec.backend) if health is not None else None
    if state is not None and not state.available:
        wait = f", retry in {state.retry_in_s:.0f}s" if state.retry_in_s else ""
        return "unhealthy", f"backend {spec.backend!r} circuit {state.state}{wait}"
    if soft:
        if p.needs_tools and not _has(spec, "tools"):
            return "capability", "no native tool calling (capability tools)"
        if p.needs_json and not _has(spec, "json"):
            return "capability", "no JSON mode (capability json)"
    return None


def _sort_key(prefer: Prefer, cloud: bool, group: int, loaded: bool, spec: ModelSpec) -> tuple[float, ...]:
    price = spec.price_in + spec.price_out
    if prefer == "strongest":
        return (not cloud, group, not loaded, -spec.vram_gb, -price)
    if prefer == "as_listed":
        return (group, not loaded, spec.vram_gb, price)
    return (cloud, group, not loaded, spec.vram_gb, price)


def _expand(
    refs: Iterable[CandidateRef], config: Config, prefer: Prefer, loaded: set[str], notes: list[str], flat: bool
) -> list[_Row]:
    """Rule refs → ordered, de-duplicated (spec, ref, is_cloud, loaded); ``flat`` ignores the refs' order."""
    seen: set[str] = set()
    rows: list[tuple[tuple[float, ...], ModelSpec, CandidateRef | None, bool, bool]] = []
    for group, ref in enumerate(refs):
        if ref.model is not None:
            spec = find_model(config, ref.model)
            specs = [spec] if spec is not None else []
            if spec is None:
                notes.append(f"rule names model {ref.model!r}, which is not in the inventory")
        else:
            specs = [
                m for m in config.models if ref.role in m.roles or (ref.role == "cloud" and is_cloud_model(config, m))
            ]
        for spec in specs:
            if spec.name in seen:
                continue
            seen.add(spec.name)
            cloud = is_cloud_model(config, spec)
            is_loaded = spec.name in loaded or spec.upstream_name in loaded
            rows.append((_sort_key(prefer, cloud, 0 if flat else group, is_loaded, spec), spec, ref, cloud, is_loaded))
    rows.sort(key=lambda r: r[0])
    return [(spec, ref, cloud, is_loaded) for _, spec, ref, cloud, is_loaded in rows]


def _candidate(spec: ModelSpec, ref: CandidateRef | None, cloud: bool, loaded: bool, origin: str) -> Candidate:
    why = origin if ref is None else f"{origin} ({ref.label})"
    if loaded:
        why += ", already loaded"
    return Candidate(
        model=spec, backend=spec.backend, max_attempts=ref.max_attempts if ref else 1,
        repair=ref.repair if ref else False, is_cloud=cloud, loaded=loaded, why=why,
    )  # fmt: skip


def _select(
    rows: list[_Row],
    p: TaskProfile,
    health: HealthView | None,
    soft: bool,
    origin: str,
    skipped: dict[str, Skip],
) -> list[Candidate]:
    kept: list[Candidate] = []
    for spec, ref, cloud, is_loaded in rows:
        problem = _check(spec, cloud, p, health, soft)
        if problem is None:
            kept.append(_candidate(spec, ref, cloud, is_loaded, origin))
            skipped.pop(spec.name, None)
        elif spec.name not in skipped:
            skipped[spec.name] = Skip(spec.name, spec.backend, problem[0], problem[1])
    return kept


def _named_route(profile: TaskProfile, config: Config, loaded: set[str], notes: list[str], reference: str) -> Route:
    """A model asked for by name: one candidate, whatever the rules say."""
    name = profile.model or ""
    spec = find_model(config, name)
    if spec is None:
        names = [m.name for m in config.models]
        shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        raise UnknownModel(
            f"model {name!r} is not in the inventory",
            hint=f"use one of: {shown}; or 'offload/auto' to let the router choose, or add it to offload.toml",
        )
    cloud = is_cloud_model(config, spec)
    cand = _candidate(spec, None, cloud, spec.name in loaded or spec.upstream_name in loaded, "asked for by name")
    problem = _check(spec, cloud, profile, None, soft=True)
    if problem is not None:
        notes.append(f"warning: {spec.name}: {problem[1]}")
    return Route(
        profile=profile, candidates=(cand,), rule=f"model {spec.name}", accept_unverified=True,
        budget=Budget.from_policy(config.policy), reference_model=spec.name if cloud else reference,
        notes=tuple(notes),
    )  # fmt: skip


# -- the planner ----------------------------------------------------------------------------------------------
def plan_route(
    profile: TaskProfile, config: Config, health: HealthView | None = None, loaded: set[str] | None = None
) -> Route:
    """The ordered candidates for ``profile``, each kept or skipped with a reason. Pure: no I/O."""
    policy = config.policy
    loaded = loaded or set()
    notes: list[str] = []
    reference = policy.reference_model or config.defaults.reference_model

    target: str | None = None
    if profile.scenario is not None and profile.model is None:
        cloud_configured = any(is_cloud_model(config, m) for m in config.models)
        target = policy.claude_code.target(profile.scenario, cloud_configured=cloud_configured)
        notes.append(f"Claude Code scenario {profile.scenario} → {target}")
        if target == "local" and profile.locality == "any":
            profile = replace(profile, locality="local")
        elif target not in ("local", "cloud"):
            profile = replace(profile, model=target)

    if profile.model is not None:
        return _named_route(profile, config, loaded, notes, reference)

    rule = policy.rule_for(profile.kind, profile.complexity)
    refs: tuple[CandidateRef, ...] = ()
    prefer: Prefer = "cheapest"
    accept: AcceptUnverified = policy.unverified_default(profile.kind)
    label = "no matching rule"
    if rule is not None:
        refs, prefer, label = rule.candidates, rule.prefer, f"rule {rule.label}"
        if rule.accept_unverified is not None:
            accept = rule.accept_unverified
    flat = False
    if target == "cloud" or profile.scenario in _STRONG_SCENARIOS:
        # the agent's main loop wants the best model it may use, not the smallest: cloud first (when allowed),
        # then the largest local models, which stay behind the cloud as its fallback when it is down
        prefer, flat = "strongest", True
        if target == "cloud" and not any(r.role == "cloud" for r in refs):
            refs = (CandidateRef(role="cloud"), *refs)

    rows = _expand(refs, config, prefer, loaded, notes, flat)
    cloud_ref = next((spec.name for spec, _, cloud, _ in rows if cloud), None)
    # fallbacks stay on the rule's side of the local/cloud line: a local-only rule never leaks to the cloud
    allow_cloud = rule is None or any(r.role == "cloud" for r in refs) or any(c for _, _, c, _ in rows)
    listed = {spec.name for spec, *_ in rows}
    others: list[_Row] = [
        (m, None, is_cloud_model(config, m), m.name in loaded)
        for m in config.models
        if m.name not in listed and (_chat_capable(m) or profile.kind == "embedding")
    ]
    others = [r for r in others if allow_cloud or not r[2]]
    others.sort(key=lambda r: _sort_key(prefer, r[2], 0, r[3], r[0]))
    skipped: dict[str, Skip] = {}
    kept = _select(rows, profile, health, True, label, skipped)
    # the rule's own models being down means "wait for them" (queued), not "use something else"
    down = any(s.reason == "unhealthy" for s in skipped.values())
    if not kept and not down:
        kept = _select(others, profile, health, True, "fallback: nothing of the rule fits", skipped)
    if not kept:
        kept = _select(rows + ([] if down else others), profile, health, False, "fallback without tools/json", skipped)
        if kept:
            notes.append("no candidate supports every capability asked for; trying the best one without it")
    if not rows:
        notes.append(f"{label} matches no inventory model")
    return Route(
        profile=profile, candidates=tuple(kept), skipped=tuple(skipped.values()), rule=label,
        accept_unverified=accept, budget=Budget.from_policy(policy, rule),
        reference_model=cloud_ref or reference, notes=tuple(notes),
    )  # fmt: skip


def policy_problems(config: Config) -> list[str]:
    """Rules naming models that are not in the inventory, and roles no model has (for ``offload config check``)."""
    problems: list[str] = []
    names = {m.name for m in config.models} | {m.upstream_name for m in config.models}
    roles = {r for m in config.models for r in m.roles} | {"cloud"}
    for i, rule in enumerate(config.policy.rules):
        for ref in rule.candidates:
            if ref.model is not None and ref.model not in names:
                problems.append(f"policy.rules[{i}] ({rule.label}): model {ref.model!r} is not in the inventory")
            if ref.role is not None and ref.role not in roles:
                problems.append(f"policy.rules[{i}] ({rule.label}): no model has role {ref.role!r}")
    return problems


__all__ = ["Budget", "Candidate", "Route", "Skip", "find_model", "is_cloud_model", "plan_route", "policy_problems"]
