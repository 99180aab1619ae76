"""What every dialect's chat endpoint shares: the request context, running the engine, streaming, headers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from offload.dialects import render_error
from offload.engine import RequestContext
from offload.errors import OffloadError
from offload.server.asgi import (
    ClientDisconnected,
    Request,
    StreamSink,
    aiter_close,
    run_until_disconnect,
    send_json,
)
from offload.types import ChatRequest, ChatResponse, StreamEvent

if TYPE_CHECKING:
    from offload.server.app import Gateway

log = logging.getLogger("offload.server")

_CLIENTS = (
    ("claude-cli/", "claude-code"),
    ("claude-code", "claude-code"),
    ("anthropic/python", "anthropic-python"),
    ("anthropic/js", "anthropic-js"),
    ("openai/python", "openai-python"),
    ("openai/js", "openai-js"),
    ("ollama-python", "ollama-python"),
    ("ollama-js", "ollama-js"),
    ("litellm", "litellm"),
    ("aider", "aider"),
    ("codex", "codex"),
    ("llm/", "llm"),
    ("curl/", "curl"),
)


class Encoder(Protocol):
    media_type: str

    def event(self, ev: StreamEvent) -> bytes: ...

    def error(self, exc: OffloadError) -> bytes: ...


def detect_client(user_agent: str | None) -> str | None:
    """A short client name from the User-Agent (``claude-code`` for Claude Code's ``claude-cli/...``)."""
    if not user_agent:
        return None
    ua = user_agent.lower()
    for needle, name in _CLIENTS:
        if needle in ua:
            return name
    return ua.split("/", 1)[0][:40] or None


def make_ctx(req: Request, dialect: str) -> RequestContext:
    """The engine's request context: dialect, client, raw headers (the journal redacts), x-offload-* hints."""
    h = req.headers
    hints = {k[10:]: v for k, v in h.items() if k.startswith("x-offload-") and len(k) > 10}
    return RequestContext(
        source="gateway", dialect=dialect, client=detect_client(h.get("user-agent")), headers=h, hints=hints
    )


def route_header(model: str, backend: str, attempts: int | None, *, planned: bool = False) -> tuple[bytes, bytes]:
    """``x-offload-route: model=...; backend=...; attempts=N`` (``planned=1`` on streams: decided up front)."""
    val = f"model={model}; backend={backend}"
    val += "; planned=1" if planned else f"; attempts={attempts or 0}"
    return (b"x-offload-route", val.encode("latin-1", "replace"))


def backend_seconds(resp: ChatResponse) -> float:
    total = sum(a.latency_s for a in resp.attempts)
    return total or resp.timings.total_s


async def send_error(req: Request, exc: OffloadError, dialect: str | None = None) -> None:
    status, body = render_error(dialect or req.dialect, exc)
    headers = [req.overhead_header()]
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        headers.append((b"retry-after", str(int(retry_after + 0.999)).encode()))
    await send_json(req.send, status, body, headers)


async def respond_chat(
    gw: Gateway,
    req: Request,
    creq: ChatRequest,
    ctx: RequestContext,
    render: Callable[[ChatResponse], dict[str, Any]],
    make_encoder: Callable[[str], Encoder],
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Run ``creq`` through the engine and answer in the caller's dialect (JSON or a stream)."""
    if creq.stream:
        await stream_chat(gw, req, creq, ctx, make_encoder, extra_headers)
        return
    resp: ChatResponse = await run_until_disconnect(req.receive, gw.engine.chat(creq, ctx))
    headers = [
        route_header(resp.model, resp.backend, len(resp.attempts)),
        req.overhead_header(backend_seconds(resp)),
        *(extra_headers or []),
    ]
    await send_json(req.send, 200, render(resp), headers)


async def stream_chat(
    gw: Gateway,
    req: Request,
    creq: ChatRequest,
    ctx: RequestContext,
    make_encoder: Callable[[str], Encoder],
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Stream an answer. Errors before the first event are ordinary error responses; after it, the
    dialect's in-stream error event ends the stream. A client disconnect closes the engine's stream."""
    await gw.engine.residency.loaded()  # refresh the cached view of loaded models (every few seconds)
    route = gw.engine.resolve(creq, ctx)
    first_cand = route.candidates[0] if route.candidates else None
    model = first_cand.model.name if first_cand is not None else creq.model
    headers = [req.overhead_header(), *(extra_headers or [])]
    if first_cand is not None:
        headers.insert(0, route_header(model, first_cand.backend, None, planned=True))
    enc = make_encoder(model)
    sink = StreamSink(req.send, enc.media_type, headers)
    agen = gw.engine.stream(creq, ctx, route=route).__aiter__()

    async def pump() -> None:
        async for ev in agen:
            await sink.write(enc.event(ev))

    try:
        await run_until_disconnect(req.receive, pump())
    except ClientDisconnected:
        log.info("client disconnected mid-stream; upstream cancelled")
        return
    except OffloadError as exc:
        if not sink.started:
            raise
        await sink.write(enc.error(exc))
    except Exception as exc:
        if not sink.started:
            raise
        log.exception("stream failed")
        await sink.write(enc.error(OffloadError(f"internal error while streaming ({type(exc).__name__})")))
    finally:
        await aiter_close(agen)
    await sink.close()
