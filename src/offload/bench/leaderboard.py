"""The numbers of a bench report, computed from result rows (pure: no I/O).

Per suite × profile: pass rate after 1..k iterations with Wilson 95% intervals, the share of well-formed
answers, seconds per case, tokens per second, tokens and cost per solved task, and how cases ended. A paired
comparison of two profiles runs McNemar's test over the tasks both ran.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from offload.bench.results import TERMINAL_REASONS, CaseResult, latest_rows
from offload.bench.stats import McNemar, cumulative_pass_rates, mcnemar, wilson_interval

__all__ = ["Comparison", "ProfileSummary", "compare", "max_iterations", "summarize"]


@dataclass(frozen=True)
class ProfileSummary:
    """One leaderboard line."""

    suite: str
    profile: str
    kind: str
    models: str
    cloud: bool
    context: object
    cases: int
    solved: int
    pass_rate: float
    pass_ci: tuple[float, float]
    #: Pass rate after 1..k iterations, and its Wilson intervals.
    pass_at: list[float]
    pass_at_ci: list[tuple[float, float]]
    well_formed: float
    seconds_per_case: float
    median_seconds: float
    tokens_per_s: float | None
    tokens_per_solved: float | None
    cost_usd: float
    cost_equiv_usd: float
    cost_per_case: float
    cost_per_solved: float | None
    malformed: int
    syntax_errors: int
    test_timeouts: int
    terminal: dict[str, int] = field(default_factory=dict)
    #: How iterations ended (passed, failed tests, syntax_error, malformed, test_timeout ...), over all cases.
    outcomes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def max_iterations(rows: Iterable[CaseResult]) -> int:
    """The largest iteration budget among ``rows`` (at least 1): the k of "pass rate after k iterations"."""
    k = 1
    for r in rows:
        k = max(k, int(r.budget.get("max_iterations", 1)), r.iterations_used)
    return k


def _models(row: CaseResult) -> str:
    names = [str(row.models[r].get("model", "?")) for r in ("planner", "builder") if r in row.models]
    return " → ".join(names) or "?"


def summarize(rows: Iterable[CaseResult], k: int | None = None) -> list[ProfileSummary]:
    """One summary per suite × profile (latest row per case), best pass rate first."""
    latest = latest_rows(rows)
    k = k or max_iterations(latest)
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for r in latest:
        groups.setdefault((r.suite, r.profile), []).append(r)
    out = []
    for (suite, profile), rs in groups.items():
        n = len(rs)
        solved = sum(1 for r in rs if r.passed)
        first_pass = [r.first_pass_iteration for r in rs]
        at = cumulative_pass_rates(first_pass, k)
        at_counts = [sum(1 for f in first_pass if f is not None and f <= i) for i in range(1, k + 1)]
        iterations = sum(len(r.iterations) for r in rs)
        well = sum(r.well_formed_iterations for r in rs)
        model_s = sum(r.stage_seconds.get("plan", 0.0) + r.stage_seconds.get("build", 0.0) for r in rs)
        out_tokens = sum(r.tokens_out for r in rs)
        tokens = sum(r.tokens_in + r.tokens_out for r in rs)
        equiv = sum(r.cost_equiv_usd for r in rs)
        walls = [r.wall_seconds for r in rs]
        first = rs[0]
        out.append(
            ProfileSummary(
                suite=suite,
                profile=profile,
                kind=first.profile_kind,
                models=_models(first),
                cloud=any(bool(m.get("cloud")) for m in first.models.values()),
                context=first.models.get("builder", {}).get("context"),
                cases=n,
                solved=solved,
                pass_rate=solved / n,
                pass_ci=wilson_interval(solved, n),
                pass_at=at,
                pass_at_ci=[wilson_interval(c, n) for c in at_counts],
                well_formed=well / iterations if iterations else 0.0,
                seconds_per_case=statistics.fmean(walls),
                median_seconds=statistics.median(walls),
                tokens_per_s=out_tokens / model_s if model_s > 0 else None,
                tokens_per_solved=tokens / solved if solved else None,
                cost_usd=sum(r.cost_usd for r in rs),
                cost_equiv_usd=equiv,
                cost_per_case=equiv / n,
                cost_per_solved=equiv / solved if solved else None,
                malformed=sum(r.malformed for r in rs),
                syntax_errors=sum(r.syntax_errors for r in rs),
                test_timeouts=sum(r.test_timeouts for r in rs),
                terminal={
                    reason: c for reason in TERMINAL_REASONS if (c := sum(r.terminal_reason == reason for r in rs))
                },
                outcomes=dict(Counter(it.outcome for r in rs for it in r.iterations)),
            )
        )
    out.sort(key=lambda s: (s.suite, -s.pass_rate, s.seconds_per_case))
    return out


@dataclass(frozen=True)
class Comparison:
    """Profiles A and B on the tasks both ran: the paired counts, McNemar's test, and which tasks differ."""

    a: str
    b: str
    test: McNemar
    only_a: list[str]
    only_b: list[str]
    missing: int


def compare(rows: Iterable[CaseResult], a: str, b: str) -> Comparison:
    """Per-task paired comparison of profiles ``a`` and ``b`` (tasks matched by suite and id)."""
    latest = latest_rows(rows)
    by_a = {(r.suite, r.task_id): r.passed for r in latest if r.profile == a}
    by_b = {(r.suite, r.task_id): r.passed for r in latest if r.profile == b}
    if not by_a or not by_b:
        from offload.errors import InvalidRequest

        known = sorted({r.profile for r in latest})
        missing_name = a if not by_a else b
        raise InvalidRequest(f"no results for profile {missing_name!r}", hint=f"profiles in these results: {known}")
    common = sorted(set(by_a) & set(by_b))
    pairs = [(by_a[t], by_b[t]) for t in common]
    return Comparison(
        a=a,
        b=b,
        test=mcnemar(pairs),
        only_a=[f"{s}/{t}" for (s, t) in common if by_a[(s, t)] and not by_b[(s, t)]],
        only_b=[f"{s}/{t}" for (s, t) in common if by_b[(s, t)] and not by_a[(s, t)]],
        missing=len(set(by_a) ^ set(by_b)),
    )


def failure_modes(rows: Iterable[CaseResult]) -> dict[str, Counter[str]]:
    """Per profile, how its cases ended (terminal reasons)."""
    out: dict[str, Counter[str]] = {}
    for r in latest_rows(rows):
        out.setdefault(r.profile, Counter())[r.terminal_reason] += 1
    return out
