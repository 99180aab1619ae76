"""The OpenAI Responses API: ``POST /v1/responses`` (Codex CLI's only endpoint) and the WebSocket refusal.

Requests are translated to the canonical types and run through the engine like every other dialect (a cloud
``openai_compat`` backend receives them as Chat Completions, so there is no byte-for-byte pass-through here).

Codex's requests are fitted to a small local model the way Claude Code's are (its ~40 KB prompt of tools and
instructions is not the user's to shorten): tools the model cannot call are dropped, the system prompt and the
oldest turns are shortened. Requests from other clients are never trimmed.

Codex first tries ``GET /v1/responses`` as a WebSocket; the gateway refuses at once with 426 so it falls back to
HTTP streaming immediately instead of retrying for seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from offload.config import ModelSpec
from offload.dialects import responses as dialect
from offload.dialects.common import dumps, loads_object
from offload.dialects.openai import error_body
from offload.dialects.responses_stream import ResponsesStreamEncoder, render_response
from offload.errors import ContextOverflow, InvalidRequest
from offload.routing.scenarios import fit_request, pick_local_model
from offload.server.asgi import Receive, Request, Scope, Send, send_json
from offload.server.routes_common import log, make_ctx, respond_chat
from offload.types import ChatRequest

if TYPE_CHECKING:
    from offload.engine import RequestContext
    from offload.server.app import Gateway

#: Agent clients whose requests are fitted to a small local model (their prompt is not the user's).
FITTED_CLIENTS = frozenset({"codex"})


class UpgradeRefused(InvalidRequest):
    """A WebSocket upgrade: offload streams the Responses API over HTTP (server-sent events) only."""

    code = "websocket_not_supported"
    http_status = 426


class WrongMethod(InvalidRequest):
    code = "method_not_allowed"
    http_status = 405


_REFUSAL = UpgradeRefused(
    "offload does not serve the Responses API over WebSocket",
    hint="send POST /v1/responses with stream: true (server-sent events); clients fall back to it by themselves",
)


def _client(req: Request, ctx: RequestContext) -> str | None:
    """The client name; Codex also announces itself in ``originator`` (``codex_exec``, ``codex_cli_rs``)."""
    if ctx.client is None and req.headers.get("originator", "").startswith("codex"):
        ctx.client = "codex"
    return ctx.client


def _local_spec(gw: Gateway, creq: ChatRequest, ctx: RequestContext) -> ModelSpec | None:
    """The local model a request will land on (``None``: a cloud model, or a name the engine will refuse)."""
    config = gw.engine.config
    spec = config.model(creq.model)
    if spec is None:
        if creq.model != "auto" and not creq.model.startswith("offload/"):
            return None
        route = gw.engine.resolve(creq, ctx)
        spec = route.candidates[0].model if route.candidates else pick_local_model(config, creq)
    if spec is None or config.backends[spec.backend].is_cloud:
        return None
    return spec


def fit_for_agent(gw: Gateway, creq: ChatRequest, ctx: RequestContext) -> tuple[ChatRequest, tuple[str, ...]]:
    """Slim an agent's request to the local model it will run on; returns (request, what was changed)."""
    spec = _local_spec(gw, creq, ctx)
    if spec is None:
        return creq, ()
    try:
        fit = fit_request(
            creq, context_window=spec.context_window, can_call_tools="tools" in spec.capabilities, model=spec.name
        )
    except ContextOverflow as exc:
        raise ContextOverflow(
            exc.message,
            hint="send a shorter prompt, or set `model` in Codex's config.toml to a model with a larger context window",
        ) from exc
    if not fit.changes:
        return creq, ()
    # the request now fits this model: pin it (``auto`` might pick another), keeping the name asked for
    meta = {**creq.metadata, "requested_model": creq.model}
    return fit.request.model_copy(update={"model": spec.name, "metadata": meta}), fit.changes


async def create_response(gw: Gateway, req: Request) -> None:
    """``POST /v1/responses``: JSON, or the Responses event stream with ``stream: true``."""
    body = loads_object(await req.body())
    parsed = dialect.parse_responses_request(body)
    ctx = make_ctx(req, "responses")
    creq = parsed.chat
    headers: list[tuple[bytes, bytes]] = []
    if parsed.dropped_tools:
        log.info("dropped hosted tools no backend can run: %s", ", ".join(sorted(set(parsed.dropped_tools))))
    if _client(req, ctx) in FITTED_CLIENTS:
        creq, changes = fit_for_agent(gw, creq, ctx)
        if changes:
            log.info("fitted a %s request into %s: %s", ctx.client, creq.model, "; ".join(changes))
            headers.append((b"x-offload-fitted", "; ".join(changes).encode("latin-1", "replace")))
    await respond_chat(
        gw,
        req,
        creq,
        ctx,
        lambda resp: render_response(parsed, resp),
        lambda model: ResponsesStreamEncoder(parsed, model),
        headers,
    )


async def responses_get(gw: Gateway, req: Request) -> None:
    """``GET /v1/responses``: a WebSocket upgrade (when the server has no WebSocket support) gets 426 at once."""
    if "websocket" in req.headers.get("upgrade", "").lower():
        await send_json(req.send, 426, error_body(_REFUSAL, 426))
        return
    exc = WrongMethod("GET is not allowed on /v1/responses", hint="use POST (offload stores no responses to fetch)")
    await send_json(req.send, 405, error_body(exc, 405), [(b"allow", b"POST")])


async def refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer any WebSocket handshake at once: 426 with an OpenAI error body on ``/v1/responses`` (Codex then
    streams over HTTP), 404 elsewhere. Without the server's denial-response extension the handshake is closed
    (the server answers 403)."""
    await receive()  # websocket.connect
    if scope.get("path") == "/v1/responses":
        status, body = 426, error_body(_REFUSAL, 426)
    else:
        exc = InvalidRequest(f"offload serves no WebSocket at {scope.get('path')}", hint="see /openapi.json")
        status, body = 404, error_body(exc, 404)
    if "websocket.http.response" in scope.get("extensions", {}):
        payload = dumps(body)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": payload})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": "offload serves no WebSocket here"})
