"""Explanations: the profile, the route and (after a run) each attempt and why the cascade stopped, as data.

Pure: ``offload route`` renders :func:`explain` of a planned route without running anything; ``offload run
--explain``, the journal and the dashboard render it with the attempts of a run (or of a failed run, from the
error's ``attempts`` and ``details``). :meth:`Explanation.lines` is a plain-text rendering; richer views use
:meth:`Explanation.to_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from offload.errors import OffloadError
from offload.routing.cascade import CascadeResult
from offload.routing.policy import Route
from offload.types import Attempt


@dataclass(frozen=True)
class Explanation:
    """Everything needed to say why a task went where it went."""

    profile: dict[str, Any]
    rule: str
    candidates: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    stopped_because: str | None = None
    outcome: str = "planned"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """A plain-text rendering, one line per fact."""
        p = self.profile
        out = [
            f"task: {p['kind']} · {p['complexity']} · ~{p['estimated_tokens']} tokens in, "
            f"~{p['expected_output_tokens']} out" + (f" · {p['locality']} only" if p["locality"] != "any" else ""),
        ]
        out += [f"  why: {r}" for r in p["reasons"]]
        out.append(f"route: {self.rule}")
        for i, c in enumerate(self.candidates, 1):
            where = "cloud" if c["is_cloud"] else "local"
            tries = f"{c['max_attempts']}×" + (" +repair" if c["repair"] else "")
            out.append(f"  {i}. {c['model']} on {c['backend']} ({where}, {tries}) — {c['why']}")
        out += [f"  skipped {s['model']}: {s['detail']}" for s in self.skipped]
        out += [f"  note: {n}" for n in self.notes]
        for a in self.attempts:
            tokens = a["usage"]["input_tokens"] + a["usage"]["output_tokens"]
            out.append(
                f"attempt {a['n']}: {a['model']} → {a['status']}/{a['verdict']} in {a['latency_s']:.2f}s, "
                f"{tokens} tokens" + (f" — {a['detail']}" if a["detail"] else "")
            )
        if self.stopped_because:
            out.append(f"stopped: {self.stopped_because} — {self.outcome}")
        return out


def _profile_dict(route: Route) -> dict[str, Any]:
    p = route.profile
    return {
        "kind": p.kind, "complexity": p.complexity, "locality": p.locality, "needs_tools": p.needs_tools,
        "has_images": p.has_images, "needs_json": p.needs_json, "estimated_tokens": p.estimated_tokens,
        "expected_output_tokens": p.expected_output_tokens, "code_lines": p.code_lines, "files": p.files,
        "scenario": p.scenario, "model": p.model, "reasons": list(p.reasons),
    }  # fmt: skip


def explain(
    route: Route,
    result: CascadeResult | None = None,
    *,
    error: OffloadError | None = None,
    attempts: list[Attempt] | None = None,
) -> Explanation:
    """Explain a planned route, a finished run (``result``) or a failed one (``error`` with its attempts)."""
    cands = [
        {"model": c.name, "backend": c.backend, "is_cloud": c.is_cloud, "max_attempts": c.max_attempts,
         "repair": c.repair, "loaded": c.loaded, "why": c.why}
        for c in route.candidates
    ]  # fmt: skip
    skipped = [{"model": s.model, "backend": s.backend, "reason": s.reason, "detail": s.detail} for s in route.skipped]
    stopped: str | None = None
    outcome = "planned (nothing ran)"
    runs = attempts or []
    if result is not None:
        runs = result.attempts
        stopped = result.stopped_because
        outcome = result.explanation
    elif error is not None:
        runs = runs or list(getattr(error, "attempts", None) or [])
        stopped = str(error.details.get("stopped_because") or error.code)
        outcome = error.message
    return Explanation(
        profile=_profile_dict(route), rule=route.rule, candidates=cands, skipped=skipped, notes=list(route.notes),
        attempts=[a.model_dump(mode="json") for a in runs], stopped_because=stopped, outcome=outcome,
    )  # fmt: skip


__all__ = ["Explanation", "explain"]
