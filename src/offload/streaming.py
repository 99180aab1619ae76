"""Streaming through the engine: journal first, fail over between candidates until the first event arrives,
then relay one backend's events, journaling the outcome — ``ok``, ``error``, or ``cancelled`` with the partial
output when the consumer goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING

from offload.config import ModelSpec
from offload.errors import BackendError, Cancelled, NoRouteAvailable, OffloadError
from offload.routing.policy import Route
from offload.routing.scenarios import own_cap
from offload.types import (
    Attempt,
    ChatRequest,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
    estimate_tokens,
)

if TYPE_CHECKING:
    from offload.engine import Engine, RequestContext


async def stream_request(
    engine: Engine, request: ChatRequest, ctx: RequestContext, route: Route | None = None
) -> AsyncIterator[StreamEvent]:
    """Stream an answer from the first healthy candidate (fail over until the first event arrives).

    ``route``: the route already resolved for this request (the gateway announces it in a header), so the
    request is not classified twice. Closing this iterator early (a client disconnect) cancels the upstream
    call and journals the row as ``cancelled`` with the partial output. An upstream failure mid-stream raises a
    BackendError.
    """
    task = engine.task_for(request, ctx)
    jid = await engine._begin(request, ctx, task.kind)
    try:
        if route is None:
            await engine.residency.loaded()  # refresh the cached view of loaded models (every few seconds)
            route = engine.resolve(request, ctx, task)
        route.raise_if_empty()
    except OffloadError as exc:
        await engine._finish_error(jid, exc, None)
        raise
    reference = engine.reference_model(route)
    attempts: list[Attempt] = []
    n = 0
    for cand in route.candidates:
        backend_name = cand.backend
        n += 1
        if not engine.board.allow(backend_name):
            a = Attempt(n=n, backend=backend_name, model=cand.model.name, status="skipped", detail="breaker open")
            attempts.append(a)
            await engine.record_attempt(jid, a)
            continue
        backend = engine.backend(backend_name)
        up = request.model_copy(update={"model": cand.model.upstream_name, "stream": True})
        started = time.perf_counter()
        agen: AsyncGenerator[StreamEvent, None] = backend.stream(up)  # type: ignore[assignment]
        try:
            first = await agen.__anext__()
        except StopAsyncIteration:
            first = None
        except BackendError as exc:
            await agen.aclose()
            if exc.retryable:
                engine.board.record_failure(backend_name)
            a = Attempt(
                n=n,
                backend=backend_name,
                model=cand.model.name,
                status="error",
                detail=exc.message,
                latency_s=time.perf_counter() - started,
            )
            attempts.append(a)
            await engine.record_attempt(jid, a)
            if exc.retryable:
                continue
            await engine._finish_error(jid, exc, route)
            raise
        except BaseException as exc:
            await agen.aclose()
            err = (
                Cancelled("cancelled by the caller")
                if isinstance(exc, asyncio.CancelledError | GeneratorExit)
                else OffloadError(f"internal error: {type(exc).__name__}")
            )
            await engine._finish_error(jid, err, route, status="cancelled" if isinstance(err, Cancelled) else "error")
            raise
        engine.board.record_success(backend_name)
        relay = _Relay(engine, jid, cand.model, backend_name, route, attempts, n, started, reference, request)
        ev: StreamEvent | None = first
        try:  # the events are relayed here, not by a nested generator: one generator step less per event
            while ev is not None:
                if isinstance(ev, StreamEnd):
                    await relay.finish_ok(ev)
                    yield ev
                    return
                if isinstance(ev, TextDelta):
                    relay.parts.append(ev.text)
                yield ev
                try:
                    ev = await agen.__anext__()
                except StopAsyncIteration:
                    ev = None
            relay.error = BackendError("the backend's stream ended without a final event", backend=backend_name)
            raise relay.error
        except (asyncio.CancelledError, GeneratorExit):
            relay.status = "cancelled"
            raise
        except OffloadError as exc:
            relay.error = exc
            raise
        finally:
            if relay.status != "ok":
                await agen.aclose()
                await relay.finish_failed()
        return
    exc2 = NoRouteAvailable(
        "every candidate backend is down",
        attempts=attempts,
        hint="the request is kept as 'queued'; run `offload replay --queued` when a backend is back",
    )
    exc2.details["all_down"] = True
    await engine._finish_error(jid, exc2, route, status="queued")
    raise exc2


class _Relay:
    """The journaling side of relaying one backend's stream: the text so far, then the outcome."""

    def __init__(
        self,
        engine: Engine,
        jid: str,
        model: ModelSpec,
        backend_name: str,
        route: Route,
        attempts: list[Attempt],
        n: int,
        started: float,
        reference: str,
        request: ChatRequest,
    ) -> None:
        self.engine, self.jid, self.model, self.backend_name, self.route = engine, jid, model, backend_name, route
        self.attempts, self.n, self.started, self.reference, self.request = attempts, n, started, reference, request
        self.parts: list[str] = []
        self.status = "error"  # until the final event arrives: "ok"; a consumer that leaves: "cancelled"
        self.error: OffloadError | None = None

    async def finish_ok(self, end: StreamEnd) -> None:
        """The backend's final event: journal the attempt and the answer."""
        engine, final = self.engine, end.response
        own_cap(self.request, final)
        final.model = self.model.name
        final.backend = self.backend_name
        final.journal_id = self.jid
        self.status = "ok"
        a = Attempt(
            n=self.n,
            backend=self.backend_name,
            model=self.model.name,
            status="ok",
            verdict="not_run",
            latency_s=time.perf_counter() - self.started,
            usage=final.usage,
        )
        self.attempts.append(a)
        final.attempts = list(self.attempts)
        final.route_reason = "streamed from the first healthy candidate"
        await engine.record_attempt(self.jid, a, engine._price_attempt(a, self.reference))
        await engine._finish_ok(self.jid, final, self.route, is_local=engine.is_local(self.backend_name))

    async def finish_failed(self) -> None:
        """The stream broke or its consumer left: journal the attempt and the partial output."""
        cancelled = self.status == "cancelled"
        partial = "".join(self.parts)
        usage = Usage(input_tokens=estimate_tokens(self.request.all_text()), output_tokens=estimate_tokens(partial))
        a = Attempt(
            n=self.n,
            backend=self.backend_name,
            model=self.model.name,
            status="cancelled" if cancelled else "error",
            detail="client disconnected" if cancelled else (self.error.message if self.error else ""),
            latency_s=time.perf_counter() - self.started,
            usage=usage,
        )
        self.attempts.append(a)
        await self.engine.record_attempt(self.jid, a)
        err = (
            Cancelled("client disconnected mid-stream") if cancelled else (self.error or OffloadError("stream failed"))
        )
        await self.engine._finish_error(
            self.jid, err, self.route, status="cancelled" if cancelled else "error", partial=partial
        )
