"""The verified cascade: try the route's candidates in order, check every answer, escalate only on failure.

For each candidate, up to its ``max_attempts``:

- a backend whose circuit breaker is open is skipped at once (a *skipped* attempt, no network call);
- ``BackendUnavailable`` / ``BackendTimeout`` / retryable upstream errors count against the breaker and
  move on to the next candidate; other errors (a 400, a missing model) move on without blaming the backend;
- the answer goes through every verifier (:func:`offload.routing.verdict.combine`): *verified* is accepted;
  *failed* is retried on the same candidate — with the failing check fed back when the candidate has
  ``repair`` on — and then escalated; *unverified* (checks could not run) is accepted when the route allows
  it (``accept_unverified = true``, or a cloud candidate), else the cascade escalates and keeps the answer as
  a last resort for ``accept_unverified = "last_resort"``;
- a task without verifiers accepts the first good (non-empty) answer.

The budget (attempts, wall-clock time between attempts, USD) stops the loop; cloud candidates are skipped
once the cost budget is spent. When nothing is accepted the cascade **raises** (it never returns a failed
result): :class:`NoRouteAvailable` with ``details["all_down"] = True`` when no backend answered at all (the
engine keeps the task ``queued``), :class:`BudgetExceeded` when the budget ran out, else
:class:`NoRouteAvailable` listing the rejections. Every error carries ``attempts``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from offload.backends.base import Backend
from offload.errors import (
    BackendError,
    BudgetExceeded,
    Cancelled,
    InvalidRequest,
    NoRouteAvailable,
    OffloadError,
    UpstreamHTTPError,
)
from offload.routing.health import BreakerBoard
from offload.routing.policy import Budget, Candidate, Route
from offload.routing.task import Task
from offload.routing.verdict import Verdict, Verifier, combine
from offload.types import Attempt, ChatRequest, ChatResponse, Message, Usage

StopReason = Literal[
    "verified", "unverified_accepted", "unchecked", "last_resort",
    "exhausted", "all_down", "budget_attempts", "budget_wall", "budget_cost",
]  # fmt: skip
OnAttempt = Callable[[Attempt], Awaitable[None] | None]
CostFn = Callable[[Candidate, Usage], float]

REPAIR_PROMPT = (
    "Your previous answer did not pass the checks:\n\n{feedback}\n\n"
    "Reply with the complete corrected answer only, in the same format as before."
)


@dataclass
class CascadeResult:
    """An accepted answer and the whole story of how it was reached."""

    response: ChatResponse
    attempts: list[Attempt]
    accepted_candidate: Candidate
    is_local: bool
    stopped_because: StopReason
    #: One human sentence: what was accepted, from whom, after what.
    explanation: str = ""
    #: The combined verdict of every answer that was checked, in order.
    verdicts: list[Verdict] = field(default_factory=list)
    #: Tokens and USD over every attempt (not only the accepted one).
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0


def default_cost(candidate: Candidate, usage: Usage) -> float:
    """USD of one call: the model's own price, else ``offload.prices`` for cloud models, else 0."""
    spec = candidate.model
    if spec.price_in or spec.price_out:
        return (usage.input_tokens * spec.price_in + usage.output_tokens * spec.price_out) / 1_000_000
    if not candidate.is_cloud:
        return 0.0
    try:
        from offload.prices import cost_usd
    except ImportError:  # pragma: no cover - prices ship with offload; guard for partial installs
        return 0.0
    return float(cost_usd(spec.upstream_name, usage) or cost_usd(spec.name, usage))


def _good(resp: ChatResponse) -> bool:
    return resp.finish_reason != "error" and bool(resp.content.strip() or resp.tool_calls)


async def _verify(verifiers: Sequence[Verifier], request: ChatRequest, resp: ChatResponse) -> Verdict:
    async def one(v: Verifier) -> Verdict:
        try:
            return await v.verify(request, resp)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a verifier must not raise; if it does, the answer is merely unverified
            return Verdict(ok=None, verifier=getattr(v, "name", type(v).__name__), detail=f"verifier crashed: {exc!r}")

    return combine(list(await asyncio.gather(*(one(v) for v in verifiers))))


class _Run:
    """The mutable state of one cascade run."""

    def __init__(
        self, task: Task, route: Route, budget: Budget, on_attempt: OnAttempt | None, clock: Callable[[], float]
    ):
        self.task, self.route, self.budget, self.on_attempt, self.clock = task, route, budget, on_attempt, clock
        self.started = clock()
        self.attempts: list[Attempt] = []
        self.verdicts: list[Verdict] = []
        self.calls = 0
        self.spent = 0.0
        self.usage = Usage()
        self.answered = False
        self.only_availability = True
        self.stop: StopReason | None = None
        self.best_unverified: tuple[ChatResponse, Candidate, Verdict] | None = None

    async def record(
        self, cand: Candidate, status: str, verdict: str, detail: str, latency: float, usage: Usage
    ) -> None:
        a = Attempt(
            n=len(self.attempts) + 1, backend=cand.backend, model=cand.name, status=status,  # type: ignore[arg-type]
            verdict=verdict, detail=detail[:500], latency_s=max(0.0, latency), usage=usage,  # type: ignore[arg-type]
        )  # fmt: skip
        self.attempts.append(a)
        if self.on_attempt is not None:
            out = self.on_attempt(a)
            if inspect.isawaitable(out):
                await out

    def budget_stop(self) -> StopReason | None:
        if self.calls >= self.budget.max_attempts:
            return "budget_attempts"
        if self.clock() - self.started >= self.budget.max_wall_s:
            return "budget_wall"
        return None


async def run_cascade(
    task: Task,
    route: Route,
    backends: Mapping[str, Backend],
    verifiers: Sequence[Verifier],
    *,
    board: BreakerBoard,
    budget: Budget | None = None,
    on_attempt: OnAttempt | None = None,
    clock: Callable[[], float] = time.monotonic,
    cost_fn: CostFn = default_cost,
) -> CascadeResult:
    """Run ``route`` for ``task``; return the accepted answer or raise (see the module docstring).

    ``budget`` defaults to ``route.budget`` (the policy's limits with the matched rule's overrides).
    """
    route.raise_if_empty()
    run = _Run(task, route, budget or route.budget, on_attempt, clock)
    for cand in route.candidates:
        accepted = await _try_candidate(run, cand, backends, verifiers, board, cost_fn)
        if accepted is not None:
            return accepted
        if run.stop in ("budget_attempts", "budget_wall"):
            break
    if run.best_unverified is not None and route.accept_unverified == "last_resort":
        resp, cand, verdict = run.best_unverified
        why = f"; the search stopped ({run.stop})" if run.stop else ""
        return _result(run, resp, cand, verdict, "last_resort", f"no verified answer{why}; best unverified answer")
    raise _failure(run)


async def _try_candidate(
    run: _Run,
    cand: Candidate,
    backends: Mapping[str, Backend],
    verifiers: Sequence[Verifier],
    board: BreakerBoard,
    cost_fn: CostFn,
) -> CascadeResult | None:
    messages = list(run.task.request.messages)
    for _ in range(cand.max_attempts):
        stop = run.budget_stop()
        if stop is not None:
            run.stop = stop
            return None
        if cand.is_cloud and run.spent >= run.budget.max_cost_usd:
            run.stop, run.only_availability = "budget_cost", False
            await run.record(
                cand, "skipped", "not_run", f"cost budget ${run.budget.max_cost_usd:.2f} spent", 0, Usage()
            )
            return None
        try:
            backend = backends[cand.backend]
        except (KeyError, OffloadError):
            run.only_availability = False
            await run.record(cand, "error", "not_run", f"backend {cand.backend!r} is not configured", 0, Usage())
            return None
        if not board.allow(cand.backend):
            h = board.health_of(cand.backend)
            wait = f"; retry in {h.retry_in_s:.1f}s" if h is not None and h.retry_in_s else ""
            await run.record(cand, "skipped", "not_run", f"circuit breaker open{wait}", 0, Usage())
            return None
        request = run.task.request.model_copy(update={"model": cand.model.upstream_name, "messages": messages})
        t0 = run.clock()
        try:
            resp = await backend.chat(request)
        except Cancelled:
            board.release(cand.backend)
            raise
        except BackendError as exc:
            latency = run.clock() - t0
            if exc.retryable:
                board.record_failure(cand.backend, exc.message, hard=exc.code == "backend_unavailable")
            elif isinstance(exc, UpstreamHTTPError):
                board.record_success(cand.backend)  # it answered: alive, the request was the problem
                run.only_availability = False
            else:
                board.record_failure(cand.backend, exc.message)
                run.only_availability = False
            await run.record(cand, "error", "not_run", f"{exc.code}: {exc.message}", latency, Usage())
            return None
        except InvalidRequest as exc:
            board.record_success(cand.backend)
            run.only_availability = False
            await run.record(cand, "error", "not_run", f"{exc.code}: {exc.message}", run.clock() - t0, Usage())
            return None
        except BaseException:
            board.release(cand.backend)
            raise
        board.record_success(cand.backend)
        latency = run.clock() - t0
        run.calls += 1
        run.answered = True
        run.only_availability = False
        run.usage = run.usage + resp.usage
        run.spent += cost_fn(cand, resp.usage)
        if not _good(resp):
            await run.record(cand, "rejected", "not_run", "empty answer", latency, resp.usage)
            continue
        if not verifiers:
            await run.record(cand, "ok", "not_run", "accepted: nothing to verify", latency, resp.usage)
            return _result(run, resp, cand, None, "unchecked", "first good answer (nothing to verify)")
        verdict = await _verify(verifiers, run.task.request, resp)
        run.verdicts.append(verdict)
        if verdict.ok is True:
            await run.record(cand, "ok", "verified", verdict.detail or "all checks passed", latency, resp.usage)
            return _result(run, resp, cand, verdict, "verified", f"verified by {verdict.verifier}")
        if verdict.ok is None:
            if run.route.accept_unverified is True or cand.is_cloud:
                await run.record(
                    cand, "ok", "unverified", f"accepted unverified: {verdict.detail}", latency, resp.usage
                )
                why = "cloud answer" if cand.is_cloud else "policy accepts unverified answers"
                return _result(run, resp, cand, verdict, "unverified_accepted", f"unverified ({why}: {verdict.detail})")
            run.best_unverified = (resp, cand, verdict)
            await run.record(cand, "ok", "unverified", f"unverified, escalating: {verdict.detail}", latency, resp.usage)
            return None
        await run.record(cand, "rejected", "failed", verdict.detail or verdict.verifier, latency, resp.usage)
        if cand.repair:
            feedback = verdict.feedback or verdict.detail or f"the {verdict.verifier} check failed"
            messages = [
                *messages,
                Message.text("assistant", resp.content),
                Message.text("user", REPAIR_PROMPT.format(feedback=feedback)),
            ]
    return None


def _result(
    run: _Run, resp: ChatResponse, cand: Candidate, verdict: Verdict | None, stop: StopReason, why: str
) -> CascadeResult:
    rejected = sum(1 for a in run.attempts if a.status in ("rejected", "error"))
    skipped = sum(1 for a in run.attempts if a.status == "skipped")
    extra = [f"{rejected} failed/rejected" if rejected else "", f"{skipped} skipped" if skipped else ""]
    tail = ", ".join(x for x in extra if x)
    explanation = f"{run.route.reason}; accepted {cand.name} on attempt {run.attempts[-1].n}: {why}" + (
        f" ({tail})" if tail else ""
    )
    label = "not_run" if verdict is None else verdict.label
    out = resp.model_copy(
        update={
            "model": cand.name, "backend": cand.backend, "attempts": list(run.attempts), "verdict": label,
            "route_reason": explanation,
        }
    )  # fmt: skip
    return CascadeResult(
        response=out, attempts=list(run.attempts), accepted_candidate=cand, is_local=not cand.is_cloud,
        stopped_because=stop, explanation=explanation, verdicts=list(run.verdicts), usage=run.usage,
        cost_usd=run.spent,
    )  # fmt: skip


def _failure(run: _Run) -> NoRouteAvailable:
    summary = "; ".join(f"#{a.n} {a.model}: {a.status} ({a.detail[:120]})" for a in run.attempts) or "no attempt"
    if not run.answered and run.only_availability:
        exc = NoRouteAvailable(
            f"every candidate backend is down: {summary}",
            attempts=list(run.attempts),
            hint="the task is kept as 'queued'; `offload replay --queued` runs it when a backend is back "
            "(`--watch` waits for one)",
        )
        stop: StopReason = "all_down"
        exc.details["all_down"] = True
    elif run.stop in ("budget_attempts", "budget_wall", "budget_cost"):
        b = run.budget
        exc = BudgetExceeded(
            f"the cascade budget ran out ({run.stop}: {b.max_attempts} attempts, {b.max_wall_s:.0f}s, "
            f"${b.max_cost_usd:.2f}) before an answer was accepted: {summary}",
            attempts=list(run.attempts),
            hint="raise max_attempts_total / max_wall_s / max_cost_usd in [policy], or give the task a stronger model",
        )
        stop = run.stop
        exc.details["all_down"] = False
    else:
        exc = NoRouteAvailable(
            f"no candidate produced an acceptable answer: {summary}",
            attempts=list(run.attempts),
            hint="add a stronger model (or a cloud backend) to the route, enable repair, or relax the checks",
        )
        stop = "exhausted"
        exc.details["all_down"] = False
    exc.details["stopped_because"] = stop
    exc.details["verdicts"] = [v.label for v in run.verdicts]
    return exc


__all__ = ["REPAIR_PROMPT", "Budget", "CascadeResult", "StopReason", "default_cost", "run_cascade"]
