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
    ChatResponse,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
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
        relay = _relay(
            engine, jid, agen, first, cand.model, backend_name, route, attempts, n, started, reference, request,
        )  # fmt: skip
        try:
            async for ev in relay:
                yield ev
        finally:
            await relay.aclose()  # journal the outcome now, not when the generator is collected
        return
    exc2 = NoRouteAvailable(
        "every candidate backend is down",
        attempts=attempts,
        hint="the request is kept as 'queued'; run `offload replay --queued` when a backend is back",
    )
    exc2.details["all_down"] = True
    await engine._finish_error(jid, exc2, route, status="queued")
    raise exc2


async def _relay(
    engine: Engine,
    jid: str,
    agen: AsyncGenerator[StreamEvent, None],
    first: StreamEvent | None,
    model: ModelSpec,
    backend_name: str,
    route: Route,
    attempts: list[Attempt],
    n: int,
    started: float,
    reference: str,
    request: ChatRequest,
) -> AsyncGenerator[StreamEvent, None]:
    parts: list[str] = []
    final: ChatResponse | None = None
    status = "error"
    error: OffloadError | None = None
    try:
        ev: StreamEvent | None = first
        while ev is not None:
            if isinstance(ev, TextDelta):
                parts.append(ev.text)
                yield ev
            elif isinstance(ev, ToolCallEvent):
                yield ev
            elif isinstance(ev, StreamEnd):
                final = ev.response
                own_cap(request, final)
                final.model = model.name
                final.backend = backend_name
                final.journal_id = jid
                status = "ok"
                a = Attempt(
                    n=n,
                    backend=backend_name,
                    model=model.name,
                    status="ok",
                    verdict="not_run",
                    latency_s=time.perf_counter() - started,
                    usage=final.usage,
                )
                attempts.append(a)
                final.attempts = list(attempts)
                final.route_reason = "streamed from the first healthy candidate"
                await engine.record_attempt(jid, a, engine._price_attempt(a, reference))
                await engine._finish_ok(jid, final, route, is_local=engine.is_local(backend_name))
                yield ev
                return
            try:
                ev = await agen.__anext__()  # type: ignore[attr-defined]
            except StopAsyncIteration:
                ev = None
        error = BackendError("the backend's stream ended without a final event", backend=backend_name)
        raise error
    except (asyncio.CancelledError, GeneratorExit):
        status = "cancelled"
        raise
    except OffloadError as exc:
        error = exc
        raise
    finally:
        if status != "ok":
            await agen.aclose()  # type: ignore[attr-defined]
            partial = "".join(parts)
            usage = Usage(input_tokens=estimate_tokens(request.all_text()), output_tokens=estimate_tokens(partial))
            a = Attempt(
                n=n,
                backend=backend_name,
                model=model.name,
                status="cancelled" if status == "cancelled" else "error",
                detail="client disconnected" if status == "cancelled" else (error.message if error else ""),
                latency_s=time.perf_counter() - started,
                usage=usage,
            )
            attempts.append(a)
            await engine.record_attempt(jid, a)
            err = (
                Cancelled("client disconnected mid-stream")
                if status == "cancelled"
                else (error or OffloadError("stream failed"))
            )
            await engine._finish_error(
                jid, err, route, status="cancelled" if status == "cancelled" else "error", partial=partial
            )
