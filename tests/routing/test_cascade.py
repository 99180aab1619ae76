"""The verified cascade with the scripted backend and small fake verifiers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from offload.backends.scripted import ScriptedBackend
from offload.config import Config, parse_config
from offload.errors import BackendTimeout, BackendUnavailable, BudgetExceeded, NoRouteAvailable, UpstreamHTTPError
from offload.routing.cascade import REPAIR_PROMPT, Budget, CascadeResult, run_cascade
from offload.routing.classify import TaskProfile
from offload.routing.explain import explain
from offload.routing.health import BreakerBoard
from offload.routing.policy import Route, plan_route
from offload.routing.policy_config import BreakerConfig
from offload.routing.task import Task
from offload.routing.verdict import Verdict
from offload.types import Attempt, ChatRequest, ChatResponse, Usage


# -- fakes ----------------------------------------------------------------------------------------------------------
class Contains:
    """Passes when the answer contains ``needle``; the feedback says what is missing."""

    name = "contains"

    def __init__(self, needle: str = "good") -> None:
        self.needle = needle
        self.seen: list[ChatRequest] = []

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        self.seen.append(request)
        if self.needle in response.content:
            return Verdict(ok=True, verifier=self.name)
        return Verdict(ok=False, verifier=self.name, detail=f"no {self.needle!r}", feedback=f"say {self.needle!r}")


class Unsure:
    """Cannot check anything (e.g. a code task without examples)."""

    name = "unsure"

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        return Verdict(ok=None, verifier=self.name, detail="no examples to run")


class Crashing:
    name = "crashing"

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        raise RuntimeError("bug in a verifier")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


MODELS = [
    {"name": "tiny", "backend": "small", "backend_model": "tiny:q4", "vram_gb": 1, "roles": ["code"]},
    {"name": "large", "backend": "big", "vram_gb": 10, "roles": ["large"]},
    {"name": "claude", "backend": "cloud", "backend_model": "claude-sonnet-4-5", "roles": ["cloud"],
     "price_in": 3, "price_out": 15},
    {"name": "claude2", "backend": "cloud2", "roles": ["cloud"], "price_in": 3, "price_out": 15},
]  # fmt: skip


def make_config(candidates: list[dict[str, Any]], **policy: Any) -> Config:
    backends = {
        "small": {"kind": "scripted"},
        "big": {"kind": "scripted"},
        "cloud": {"kind": "scripted", "cloud": True},
        "cloud2": {"kind": "scripted", "cloud": True},
    }
    rule = {"name": "test", "prefer": "as_listed", "candidates": candidates}
    rule.update({k: policy.pop(k) for k in list(policy) if k in ("accept_unverified",)})
    return parse_config(
        {
            "defaults": {"embedded": False},
            "backends": backends,
            "models": MODELS,
            "policy": {"use_default_rules": False, "rules": [rule], **policy},
        }
    )


def route_for(cfg: Config, kind: str = "chat") -> Route:
    return plan_route(TaskProfile(kind=kind, complexity="simple", estimated_tokens=10), cfg)


def backends(**answers: list[Any]) -> dict[str, ScriptedBackend]:
    out = {}
    for name in ("small", "big", "cloud", "cloud2"):
        out[name] = ScriptedBackend(name, list(answers.get(name, [])), cloud=name.startswith("cloud"))
    return out


TASK = Task.from_prompt("write something good")


async def cascade(route: Route, bs: dict[str, ScriptedBackend], verifiers: list[Any], **kw: Any) -> CascadeResult:
    kw.setdefault("board", BreakerBoard(BreakerConfig(failures_to_open=1)))
    return await run_cascade(kw.pop("task", TASK), route, bs, verifiers, **kw)


TWO_LOCAL = [{"model": "tiny"}, {"model": "large"}]


# -- accept / escalate / repair ---------------------------------------------------------------------------------------
async def test_accepts_the_first_verified_answer() -> None:
    seen: list[Attempt] = []
    bs = backends(small=["a good answer"], big=["never asked"])
    result = await cascade(route_for(make_config(TWO_LOCAL)), bs, [Contains()], on_attempt=seen.append)
    assert result.stopped_because == "verified" and result.is_local
    assert result.accepted_candidate.name == "tiny"
    assert result.response.content == "a good answer"
    assert (result.response.verdict, result.response.model, result.response.backend) == ("verified", "tiny", "small")
    assert [(a.n, a.model, a.status, a.verdict) for a in seen] == [(1, "tiny", "ok", "verified")]
    assert result.response.attempts == seen == result.attempts
    assert "accepted tiny on attempt 1" in result.response.route_reason
    assert bs["small"].requests[0].model == "tiny:q4"  # the backend's own name
    assert bs["big"].requests == []


async def test_rejected_answer_escalates_to_the_next_candidate() -> None:
    bs = backends(small=["bad"], big=["good"])
    result = await cascade(route_for(make_config(TWO_LOCAL)), bs, [Contains()])
    assert result.accepted_candidate.name == "large"
    assert [(a.model, a.status, a.verdict) for a in result.attempts] == [
        ("tiny", "rejected", "failed"),
        ("large", "ok", "verified"),
    ]
    assert result.attempts[0].detail == "no 'good'"
    assert [v.label for v in result.verdicts] == ["failed", "verified"]
    # escalation starts from the original request, not the failed conversation
    assert len(bs["big"].requests[0].messages) == 1


async def test_repair_feeds_the_failure_back() -> None:
    cfg = make_config([{"model": "tiny", "max_attempts": 2, "repair": True}, {"model": "large"}])
    bs = backends(small=["bad answer", "good answer"])
    verifier = Contains()
    result = await cascade(route_for(cfg), bs, [verifier])
    assert result.accepted_candidate.name == "tiny" and len(result.attempts) == 2
    second = bs["small"].requests[1]
    assert [m.role for m in second.messages] == ["user", "assistant", "user"]
    assert second.messages[1].text_content == "bad answer"
    assert second.messages[2].text_content == REPAIR_PROMPT.format(feedback="say 'good'")
    # verifiers always judge against the original task
    assert all(len(r.messages) == 1 for r in verifier.seen)


async def test_retry_without_repair_resends_the_original_request() -> None:
    cfg = make_config([{"model": "tiny", "max_attempts": 2}])
    bs = backends(small=["bad", "good"])
    result = await cascade(route_for(cfg), bs, [Contains()])
    assert result.attempts[-1].verdict == "verified"
    assert len(bs["small"].requests[1].messages) == 1


async def test_no_verifiers_accepts_the_first_good_answer() -> None:
    bs = backends(small=["   "], big=["hello"])
    result = await cascade(route_for(make_config(TWO_LOCAL)), bs, [])
    assert result.stopped_because == "unchecked" and result.response.verdict == "not_run"
    assert [(a.status, a.detail) for a in result.attempts] == [
        ("rejected", "empty answer"),
        ("ok", "accepted: nothing to verify"),
    ]


async def test_a_crashing_verifier_makes_the_answer_unverified() -> None:
    bs = backends(small=["x"])
    result = await cascade(route_for(make_config(TWO_LOCAL)), bs, [Crashing()])
    assert result.response.verdict == "unverified"
    assert "verifier crashed" in result.attempts[0].detail


async def test_async_on_attempt_is_awaited() -> None:
    seen: list[int] = []

    async def record(a: Attempt) -> None:
        await asyncio.sleep(0)
        seen.append(a.n)

    await cascade(
        route_for(make_config(TWO_LOCAL)), backends(small=["bad"], big=["good"]), [Contains()], on_attempt=record
    )
    assert seen == [1, 2]


# -- unverified answers ------------------------------------------------------------------------------------------------
async def test_unverified_accepted_when_the_policy_allows() -> None:
    bs = backends(small=["maybe"], big=["never"])
    result = await cascade(route_for(make_config(TWO_LOCAL, accept_unverified=True)), bs, [Unsure()])
    assert result.stopped_because == "unverified_accepted"
    assert result.response.verdict == "unverified" and result.accepted_candidate.name == "tiny"


async def test_unverified_code_escalates_and_returns_the_last_resort() -> None:
    cfg = make_config(TWO_LOCAL)  # code kinds default to "last_resort"
    route = route_for(cfg, kind="code_generation")
    assert route.accept_unverified == "last_resort"
    bs = backends(small=["def f(): ..."], big=["def f(): return 1"])
    result = await cascade(route, bs, [Unsure()])
    assert result.stopped_because == "last_resort"
    assert result.accepted_candidate.name == "large" and result.response.verdict == "unverified"
    assert [a.verdict for a in result.attempts] == ["unverified", "unverified"]


async def test_unverified_then_verified_prefers_the_verified() -> None:
    class SecondPasses:
        name = "second"

        async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
            return Verdict(ok=True if "2" in response.content else None, verifier=self.name)

    route = route_for(make_config(TWO_LOCAL), kind="code_generation")
    result = await cascade(route, backends(small=["1"], big=["2"]), [SecondPasses()])
    assert result.stopped_because == "verified" and result.accepted_candidate.name == "large"


async def test_unverified_never_returned_when_the_policy_forbids() -> None:
    cfg = make_config(TWO_LOCAL, accept_unverified_code=False)
    with pytest.raises(NoRouteAvailable) as err:
        await cascade(route_for(cfg, kind="refactor"), backends(small=["a"], big=["b"]), [Unsure()])
    assert err.value.details == {"all_down": False, "stopped_because": "exhausted", "verdicts": ["unverified"] * 2}
    assert len(err.value.attempts) == 2


async def test_cloud_unverified_answer_is_accepted() -> None:
    cfg = make_config([{"model": "tiny"}, {"model": "claude"}], accept_unverified_code=False)
    result = await cascade(route_for(cfg, kind="code_generation"), backends(small=["a"], cloud=["b"]), [Unsure()])
    assert result.accepted_candidate.name == "claude" and not result.is_local
    assert result.stopped_because == "unverified_accepted"


async def test_all_rejected_raises_with_the_attempts() -> None:
    with pytest.raises(NoRouteAvailable) as err:
        await cascade(route_for(make_config(TWO_LOCAL)), backends(small=["bad"], big=["worse"]), [Contains()])
    assert not isinstance(err.value, BudgetExceeded)
    assert err.value.details["all_down"] is False and err.value.details["stopped_because"] == "exhausted"
    assert [a.status for a in err.value.attempts] == ["rejected", "rejected"]
    assert "no candidate produced an acceptable answer" in err.value.message


# -- budgets -----------------------------------------------------------------------------------------------------------
async def test_attempt_budget() -> None:
    cfg = make_config([{"model": "tiny", "max_attempts": 5}], max_attempts_total=2)
    route = route_for(cfg)
    assert route.budget.max_attempts == 2
    with pytest.raises(BudgetExceeded) as err:
        await cascade(route, backends(small=["bad"] * 5), [Contains()])
    assert err.value.details["stopped_because"] == "budget_attempts" and len(err.value.attempts) == 2


async def test_wall_time_budget_with_an_injected_clock() -> None:
    clock = Clock()
    small = ScriptedBackend("small", responder=lambda req: (clock.advance(100), "bad")[1])
    bs = {**backends(), "small": small}
    cfg = make_config([{"model": "tiny", "max_attempts": 5}], max_wall_s=150)
    with pytest.raises(BudgetExceeded) as err:
        await cascade(route_for(cfg), bs, [Contains()], clock=clock)
    assert err.value.details["stopped_because"] == "budget_wall"
    assert [a.latency_s for a in err.value.attempts] == [100.0, 100.0]


async def test_explicit_budget_overrides_the_route() -> None:
    with pytest.raises(BudgetExceeded):
        await cascade(
            route_for(make_config(TWO_LOCAL)),
            backends(small=["bad"], big=["good"]),
            [Contains()],
            budget=Budget(max_attempts=1),
        )


def _priced(text: str, tokens: int) -> ChatResponse:
    return ChatResponse(model="x", content=text, usage=Usage(input_tokens=tokens, output_tokens=tokens))


async def test_cost_budget_skips_further_cloud_calls_but_not_local_ones() -> None:
    cfg = make_config([{"model": "claude"}, {"model": "claude2"}, {"model": "tiny"}], max_cost_usd=0.01)
    bs = backends(cloud=[_priced("bad", 1000)], small=["good"])  # 1000 in + 1000 out = $0.018
    result = await cascade(route_for(cfg), bs, [Contains()])
    assert [(a.model, a.status) for a in result.attempts] == [
        ("claude", "rejected"),
        ("claude2", "skipped"),
        ("tiny", "ok"),
    ]
    assert "cost budget" in result.attempts[1].detail
    assert result.cost_usd == pytest.approx(0.018)
    assert result.usage == Usage(input_tokens=1000 + result.attempts[2].usage.input_tokens, output_tokens=1000 + 1)
    assert bs["cloud2"].requests == []


async def test_cost_budget_exhausted() -> None:
    cfg = make_config([{"model": "claude"}, {"model": "claude2"}], max_cost_usd=0.01)
    with pytest.raises(BudgetExceeded) as err:
        await cascade(route_for(cfg), backends(cloud=[_priced("bad", 1000)]), [Contains()])
    assert err.value.details["stopped_because"] == "budget_cost"


async def test_zero_cost_budget_never_calls_the_cloud() -> None:
    cfg = make_config([{"model": "claude"}, {"model": "tiny"}], max_cost_usd=0)
    bs = backends(small=["good"])
    result = await cascade(route_for(cfg), bs, [Contains()])
    assert result.accepted_candidate.name == "tiny" and bs["cloud"].requests == []


# -- health: breaker and all-down ----------------------------------------------------------------------------------------
async def test_breaker_open_half_open_close() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1, base_cooldown_s=10), clock=clock)
    small = ScriptedBackend("small", [BackendUnavailable("connection refused", backend="small")], default="good")
    bs = {**backends(), "small": small, "big": ScriptedBackend("big", default="good from big")}
    route = route_for(make_config(TWO_LOCAL))

    first = await cascade(route, bs, [Contains()], board=board, clock=clock)
    assert [(a.model, a.status) for a in first.attempts] == [("tiny", "error"), ("large", "ok")]
    assert board.snapshot()["small"].state == "open"

    # open: skipped without a call
    second = await cascade(route, bs, [Contains()], board=board, clock=clock)
    assert [(a.model, a.status) for a in second.attempts] == [("tiny", "skipped"), ("large", "ok")]
    assert "circuit breaker open" in second.attempts[0].detail and len(small.requests) == 1

    # cooldown over: exactly one probe, which succeeds and closes the breaker
    clock.advance(10)
    third = await cascade(route, bs, [Contains()], board=board, clock=clock)
    assert third.accepted_candidate.name == "tiny" and len(small.requests) == 2
    assert board.snapshot()["small"].state == "closed"


async def test_failed_probe_reopens_with_a_longer_cooldown() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1, base_cooldown_s=10), clock=clock)
    down = BackendUnavailable("refused", backend="small")
    bs = {**backends(), "small": ScriptedBackend("small", [down, down]), "big": ScriptedBackend("big", default="good")}
    route = route_for(make_config(TWO_LOCAL))
    await cascade(route, bs, [Contains()], board=board, clock=clock)
    clock.advance(10)
    await cascade(route, bs, [Contains()], board=board, clock=clock)
    snap = board.snapshot()["small"]
    assert snap.state == "open" and snap.retry_in_s == 20.0


async def test_only_one_probe_while_half_open() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1, base_cooldown_s=1), clock=clock)
    board.record_failure("small", "down")
    clock.advance(5)
    small = ScriptedBackend("small").add("good probe", delay=0.05)
    bs = {**backends(), "small": small, "big": ScriptedBackend("big", default="good big")}
    route = route_for(make_config(TWO_LOCAL))
    a, b = await asyncio.gather(
        cascade(route, bs, [Contains()], board=board, clock=clock),
        cascade(route, bs, [Contains()], board=board, clock=clock),
    )
    assert sorted(r.accepted_candidate.name for r in (a, b)) == ["large", "tiny"]
    assert len(small.requests) == 1


async def test_cancelled_probe_gives_the_slot_back() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1, base_cooldown_s=1), clock=clock)
    board.record_failure("small", "down")
    clock.advance(5)
    bs = {**backends(), "small": ScriptedBackend("small").add("slow", delay=10)}
    job = asyncio.create_task(cascade(route_for(make_config(TWO_LOCAL)), bs, [], board=board, clock=clock))
    await asyncio.sleep(0.01)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert board.allow("small")


async def test_all_down_raises_no_route_with_all_down_then_recovers() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1, base_cooldown_s=5), clock=clock)
    small = ScriptedBackend("small", [BackendUnavailable("refused", backend="small")], default="good")
    big = ScriptedBackend("big", [BackendTimeout("read timeout", backend="big")], default="good")
    bs = {**backends(), "small": small, "big": big}
    route = route_for(make_config(TWO_LOCAL))
    with pytest.raises(NoRouteAvailable) as err:
        await cascade(route, bs, [Contains()], board=board, clock=clock)
    assert err.value.details["all_down"] is True and err.value.details["stopped_because"] == "all_down"
    assert "queued" in (err.value.hint or "")
    assert [a.status for a in err.value.attempts] == ["error", "error"]
    # still down (breakers open): one fast skip each, no calls
    with pytest.raises(NoRouteAvailable) as err2:
        await cascade(route, bs, [Contains()], board=board, clock=clock)
    assert err2.value.details["all_down"] is True
    assert [a.status for a in err2.value.attempts] == ["skipped", "skipped"]
    assert (len(small.requests), len(big.requests)) == (1, 1)
    # back up: the queued task replays successfully
    clock.advance(5)
    result = await cascade(route, bs, [Contains()], board=board, clock=clock)
    assert result.accepted_candidate.name == "tiny"


async def test_route_planned_while_everything_is_down_is_all_down() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerConfig(failures_to_open=1, base_cooldown_s=60), clock=clock)
    for b in ("small", "big"):
        board.record_failure(b, "down")
    route = plan_route(TaskProfile(kind="chat", complexity="simple"), make_config(TWO_LOCAL), health=board)
    assert route.candidates == ()
    with pytest.raises(NoRouteAvailable) as err:
        await cascade(route, backends(), [], board=board, clock=clock)
    assert err.value.details["all_down"] is True


async def test_non_retryable_error_moves_on_without_blaming_the_backend() -> None:
    board = BreakerBoard(BreakerConfig(failures_to_open=1))
    bad_request = UpstreamHTTPError("model 'tiny:q4' not found", status=404, backend="small")
    bs = backends(small=[bad_request], big=["good"])
    result = await cascade(route_for(make_config(TWO_LOCAL)), bs, [Contains()], board=board)
    assert result.accepted_candidate.name == "large"
    assert result.attempts[0].status == "error" and "not found" in result.attempts[0].detail
    assert board.snapshot()["small"].state == "closed"


async def test_rate_limit_counts_against_the_breaker() -> None:
    board = BreakerBoard(BreakerConfig(failures_to_open=1, open_on_unavailable=False))
    limited = UpstreamHTTPError("rate limited", status=429, backend="small")
    await cascade(route_for(make_config(TWO_LOCAL)), backends(small=[limited], big=["good"]), [Contains()], board=board)
    assert board.snapshot()["small"].state == "open"


async def test_errors_and_rejections_mixed_are_not_all_down() -> None:
    bs = backends(small=[BackendUnavailable("refused", backend="small")], big=["bad"])
    with pytest.raises(NoRouteAvailable) as err:
        await cascade(route_for(make_config(TWO_LOCAL)), bs, [Contains()])
    assert err.value.details["all_down"] is False


async def test_missing_backend_is_an_error_attempt() -> None:
    bs = backends(big=["good"])
    del bs["small"]
    result = await cascade(route_for(make_config(TWO_LOCAL)), bs, [Contains()])
    assert result.attempts[0].status == "error" and "not configured" in result.attempts[0].detail


# -- explanation ---------------------------------------------------------------------------------------------------------
async def test_explain_a_run_and_a_failure() -> None:
    route = route_for(make_config(TWO_LOCAL))
    planned = explain(route)
    assert planned.stopped_because is None and [c["model"] for c in planned.candidates] == ["tiny", "large"]
    result = await cascade(route, backends(small=["bad"], big=["good"]), [Contains()])
    ex = explain(route, result)
    text = "\n".join(ex.lines())
    assert "attempt 1: tiny → rejected/failed" in text and "attempt 2: large → ok/verified" in text
    assert "stopped: verified" in text and ex.to_dict()["profile"]["kind"] == "chat"
    try:
        await cascade(route, backends(small=["bad"], big=["bad"]), [Contains()])
    except NoRouteAvailable as exc:
        failed = explain(route, error=exc)
    assert failed.stopped_because == "exhausted" and len(failed.attempts) == 2
