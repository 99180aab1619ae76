"""The engine: one place where a request is journaled, routed, run through the cascade, and metered.

Every entry point — the Python API, the CLI, the gateway, the MCP server, the bench — calls the engine, so
all of them share one behaviour: the journal row is committed *before* any backend is called, each attempt
is recorded, and the final status, usage and savings are written in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offload.backends import Backend, create_backend
from offload.config import Config, ModelSpec, load_config
from offload.errors import (
    BackendError,
    Cancelled,
    InvalidRequest,
    NoRouteAvailable,
    OffloadError,
    UnknownModel,
)
from offload.outcomes import OutcomeWriter, route_record
from offload.prices import PriceTable
from offload.redact import Redactor, default_redactor
from offload.routing.cascade import CascadeResult, run_cascade
from offload.routing.classify import TaskProfile, classify
from offload.routing.health import BreakerBoard
from offload.routing.policy import Route, plan_route
from offload.routing.scenarios import own_cap
from offload.routing.task import Task
from offload.routing.verdict import Verifier
from offload.routing.verify import verifiers_for
from offload.store.journal import Journal
from offload.store.ledger import Ledger
from offload.types import (
    Attempt,
    ChatRequest,
    ChatResponse,
    EmbedResult,
    HealthStatus,
    ModelInfo,
    StreamEvent,
    estimate_tokens,
)

_log = logging.getLogger("offload.engine")


@dataclass
class RequestContext:
    """Who is asking and how: recorded in the journal, used by routing hints."""

    source: str = "api"
    dialect: str | None = None
    client: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)


class Engine:
    """Journal → classify → route → cascade → ledger, for every request."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        backends: Mapping[str, Backend] | None = None,
        journal: Journal | None = None,
        journal_path: str | Path | None = None,
        redactor: Redactor | None = None,
        await_outcome: bool = True,
    ) -> None:
        self.config = config if config is not None else load_config()
        self.redactor = redactor or default_redactor()
        for secret in self.config.secrets():
            self.redactor.add(secret)
        self._backends: dict[str, Backend] = dict(backends or {})
        path = Path(journal_path) if journal_path else self.config.journal_path()
        self.journal = journal or Journal(path, redactor=self.redactor)
        self.ledger = Ledger(self.journal)
        self.prices = PriceTable.from_config(self.config)
        self.board = BreakerBoard.from_policy(self.config.policy)
        from offload.models.ops import ModelManager
        from offload.models.tracker import ResidencyTracker

        #: What is loaded where (cached ``ps``): the router prefers a loaded candidate and avoids thrashing.
        self.residency = ResidencyTracker(ModelManager.from_engine(self))
        #: When ``await_outcome`` is False (the gateway), attempts and outcomes are queued to the journal writer
        #: without waiting for their commit: the answer goes out after ONE awaited commit (the request row).
        self.outcomes = OutcomeWriter(self.journal, self.redactor, await_outcome=await_outcome)
        #: Requests the gateway is serving right now. When it is 1, a request's row is committed inline by the
        #: event loop if the journal writer is idle (see ``Journal.abegin(inline=)``); 0 means not tracked.
        self.active_requests = 0
        self._closed = False

    @property
    def alone(self) -> bool:
        """The gateway serves this one request only: its journal row may be committed inline by the event loop
        (blocking it for one fsync, but sparing two thread hand-offs)."""
        return self.active_requests == 1

    # -- backends ---------------------------------------------------------------------------------------
    @property
    def backends(self) -> dict[str, Backend]:
        """Every configured backend (built lazily on first access)."""
        for name in self.config.backends:
            self.backend(name)
        return self._backends

    def backend(self, name: str) -> Backend:
        """The backend called ``name``, created on first use."""
        b = self._backends.get(name)
        if b is None:
            if name not in self.config.backends:
                raise UnknownModel(f"no backend named {name!r}", hint=f"configured: {sorted(self.config.backends)}")
            cfg = self.config.backends[name]
            kw: dict[str, Any] = {}
            if cfg.kind == "embedded":  # it serves one model: report it under its inventory name
                spec = next((m for m in self.config.models if m.backend == name), None)
                if spec is not None:
                    kw["model_name"] = spec.upstream_name
            b = create_backend(cfg, **kw)
            self._backends[name] = b
        return b

    def is_local(self, backend_name: str) -> bool:
        cfg = self.config.backends.get(backend_name)
        if cfg is not None:
            return not cfg.is_cloud
        b = self._backends.get(backend_name)
        return not (b is not None and b.capabilities.cloud)

    # -- decisions (pure, no I/O) -------------------------------------------------------------------------
    def task_for(self, request: ChatRequest, ctx: RequestContext | None = None) -> Task:
        ctx = ctx or RequestContext()
        kind = request.metadata.get("kind") or ctx.hints.get("kind")
        return Task(request=request, kind=kind, hints=dict(ctx.hints))

    def resolve(self, request: ChatRequest, ctx: RequestContext | None = None, task: Task | None = None) -> Route:
        """The route a request would take, without running anything."""
        task = task or self.task_for(request, ctx)
        profile = classify(task)
        return plan_route(profile, self.config, health=self.board, loaded=self.residency.cached())

    def profile(self, task: Task) -> TaskProfile:
        return classify(task)

    def reference_model(self, route: Route | None) -> str:
        """The cloud model whose price a verified local answer avoids."""
        if route is not None:
            if route.reference_model:
                return route.reference_model
            for c in route.candidates:
                if c.is_cloud:
                    return c.model.name
        ref = getattr(self.config.policy, "reference_model", None)
        return ref or self.config.defaults.reference_model

    def _price_attempt(self, attempt: Attempt, reference: str) -> float:
        spec = self.config.model(attempt.model)
        if not self.is_local(attempt.backend) and spec is not None:
            return self.prices.cost_usd(spec.name, attempt.usage)
        return self.prices.cost_usd(reference, attempt.usage)

    # -- journal writes ---------------------------------------------------------------------------------
    async def _journal_attempt(self, jid: str, attempt: Attempt, cost_equiv_usd: float) -> None:
        await self.outcomes.attempt(jid, attempt, cost_equiv_usd, local=self.is_local(attempt.backend))

    async def _journal_finish(self, jid: str, **outcome: Any) -> None:
        await self.outcomes.finish(jid, **outcome)

    async def drain(self) -> None:
        """Wait until every queued journal write has committed."""
        await self.outcomes.drain()

    # -- running ----------------------------------------------------------------------------------------
    async def begin(self, request: ChatRequest, ctx: RequestContext, kind: str | None = None) -> str:
        """Commit a ``pending`` journal row for ``request`` (pass its id to :meth:`run` as ``journal_id``)."""
        return await self._begin(request, ctx, kind)

    async def _begin(self, request: ChatRequest, ctx: RequestContext, kind: str | None) -> str:
        return await self.journal.abegin(
            request.model_dump(mode="json", exclude={"metadata"}) | {"metadata": _safe_meta(request.metadata)},
            source=ctx.source,
            model_requested=str(request.metadata.get("requested_model") or request.model),
            dialect=ctx.dialect,
            client=ctx.client,
            kind=kind,
            headers=ctx.headers,
            inline=self.alone,
        )

    async def run(
        self,
        task: Task,
        ctx: RequestContext | None = None,
        *,
        journal_id: str | None = None,
        verifiers: Sequence[Verifier] | None = None,
    ) -> ChatResponse:
        """Run a task through the verified cascade; journaled and metered. Raises offload errors.

        ``verifiers``, when given, replace the ones inferred from the task (workers bring their own checks).
        """
        ctx = ctx or RequestContext()
        jid = journal_id or await self._begin(task.request, ctx, task.kind)
        route: Route | None = None
        try:
            profile = classify(task)
            route = plan_route(profile, self.config, health=self.board, loaded=await self.residency.loaded())
            checks = list(verifiers) if verifiers is not None else verifiers_for(task, profile.kind)
            reference = self.reference_model(route)

            async def on_attempt(a: Attempt) -> None:
                await self._journal_attempt(jid, a, self._price_attempt(a, reference))

            result: CascadeResult = await run_cascade(
                task,
                route,
                _LazyBackends(self),
                checks,
                board=self.board,
                budget=route.budget,
                on_attempt=on_attempt,
            )
        except asyncio.CancelledError:
            await self._finish_error(jid, Cancelled("cancelled by the caller"), route, status="cancelled")
            raise
        except NoRouteAvailable as exc:
            queued = bool(exc.details.get("all_down")) if hasattr(exc, "details") else False
            await self._finish_error(jid, exc, route, status="queued" if queued else "error")
            raise
        except OffloadError as exc:
            await self._finish_error(jid, exc, route)
            raise
        except Exception as exc:  # a bug: still never lose the row
            await self._finish_error(jid, OffloadError(f"internal error: {type(exc).__name__}"), route)
            raise
        resp = result.response
        own_cap(task.request, resp)
        resp.journal_id = jid
        self.residency.note_used(resp.model)
        await self._finish_ok(jid, resp, route, is_local=result.is_local)
        return resp

    async def chat(self, request: ChatRequest, ctx: RequestContext | None = None) -> ChatResponse:
        """Answer a chat request (routed and verified like a task with nothing extra to check)."""
        return await self.run(self.task_for(request, ctx), ctx)

    async def _finish_ok(self, jid: str, resp: ChatResponse, route: Route | None, *, is_local: bool) -> None:
        reference = self.reference_model(route)
        avoided = None
        if is_local and resp.verdict in ("verified", "not_run"):
            avoided = self.prices.cost_usd(reference, resp.usage)
        await self._journal_finish(
            jid,
            status="ok",
            response=resp.model_dump(mode="json", exclude={"raw"}),
            usage=resp.usage,
            model=resp.model,
            backend=resp.backend,
            verdict=resp.verdict,
            route=route_record(route, resp),
            local=is_local,
            avoided_usd=avoided,
            reference_model=reference,
        )

    async def _finish_error(
        self, jid: str, exc: OffloadError, route: Route | None, *, status: str = "error", partial: str | None = None
    ) -> None:
        attempts = getattr(exc, "attempts", None) or []
        await self._journal_finish(
            jid,
            status=status,
            error=exc.to_dict() | {"type": type(exc).__name__},
            route=route_record(route, None, attempts),
            partial_output=partial,
        )

    # -- streaming ----------------------------------------------------------------------------------------
    def stream(
        self, request: ChatRequest, ctx: RequestContext | None = None, *, route: Route | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Stream an answer from the first healthy candidate (fail over until the first event arrives).

        ``route``: pass the route :meth:`resolve` gave for this request to skip resolving it again.
        Closing this iterator early (a client disconnect) cancels the upstream call and journals the row
        as ``cancelled`` with the partial output. An upstream failure mid-stream raises a BackendError.
        """
        from offload.streaming import stream_request

        return stream_request(self, request, ctx or RequestContext(), route)

    async def record_attempt(self, jid: str, attempt: Attempt, cost_equiv_usd: float = 0.0) -> None:
        """Journal one attempt (awaited or queued, per ``await_outcome``)."""
        await self._journal_attempt(jid, attempt, cost_equiv_usd)

    # -- other endpoints --------------------------------------------------------------------------------
    def _model_for(self, name: str) -> ModelSpec:
        spec = self.config.model(name)
        if spec is None:
            raise UnknownModel(
                f"model {name!r} is not in the inventory",
                hint=f"use one of {[m.name for m in self.config.models]} or add it to offload.toml",
            )
        return spec

    async def embed(self, model: str, inputs: list[str], ctx: RequestContext | None = None) -> EmbedResult:
        """Embed ``inputs`` with an inventory model (``auto`` = the first model with the ``embed`` role)."""
        if model in ("auto", "offload/auto"):
            cands = [m for m in self.config.models if "embed" in m.roles or "embed" in m.capabilities]
            if not cands:
                raise InvalidRequest(
                    "no embedding model in the inventory", hint='add a model with roles = ["embed"] to offload.toml'
                )
            spec = cands[0]
        else:
            spec = self._model_for(model)
        backend = self.backend(spec.backend)
        if not backend.capabilities.embed:
            raise InvalidRequest(
                f"backend {spec.backend!r} cannot embed", hint="choose a model on an ollama or openai_compat backend"
            )
        res = await backend.embed(spec.upstream_name, inputs)
        return res.model_copy(update={"model": spec.name})

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of a request (estimated; exact when the backend can count)."""
        return estimate_tokens(request.all_text()) + 4 * len(request.messages)

    async def list_models(self) -> list[ModelSpec]:
        return list(self.config.models)

    async def health(self) -> list[HealthStatus]:
        """Every backend's health (checked concurrently; never raises)."""
        names = list(self.config.backends)

        async def one(n: str) -> HealthStatus:
            try:
                return await self.backend(n).health()
            except Exception as exc:  # health must never raise
                return HealthStatus(backend=n, ok=False, detail=self.redactor.text(str(exc)))

        return list(await asyncio.gather(*(one(n) for n in names)))

    async def ps(self) -> list[ModelInfo]:
        """Models loaded in memory on every backend that can tell."""
        out: list[ModelInfo] = []
        for b in self.backends.values():
            if b.capabilities.ps:
                try:
                    out.extend(await b.ps())  # type: ignore[attr-defined]
                except BackendError:
                    continue
        return out

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.drain()
        for b in self._backends.values():
            try:
                await b.aclose()
            except Exception:
                pass
        self.journal.close()


class _LazyBackends(Mapping[str, Backend]):
    """A mapping view that creates backends on first lookup."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getitem__(self, name: str) -> Backend:
        return self._engine.backend(name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._engine.config.backends)

    def __len__(self) -> int:
        return len(self._engine.config.backends)


def _safe_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if isinstance(v, str | int | float | bool) or v is None}
