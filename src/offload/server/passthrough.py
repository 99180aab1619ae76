"""Faithful pass-through: a request in a provider's own dialect, routed to that provider's cloud, goes unchanged.

The raw body and the caller's protocol headers (``anthropic-version``, ``anthropic-beta`` ...) are forwarded by
the backend's ``forward(path, body, headers)`` with the backend's own key; the answer's bytes are streamed back
untouched. The journal row is written *before* forwarding and finished with the usage read from the bytes as
they pass (``message_start`` / ``message_delta`` for Anthropic, the usage chunk or object for OpenAI).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from offload.dialects.common import dumps, loads
from offload.engine import RequestContext
from offload.errors import BackendError, OffloadError, UpstreamHTTPError
from offload.server.asgi import ClientDisconnected, Request, StreamSink, run_until_disconnect, send_bytes
from offload.server.routes_common import log, route_header
from offload.types import Attempt, ChatRequest, Usage

if TYPE_CHECKING:
    from offload.server.app import Gateway

#: Upstream response headers worth returning to the caller.
_KEEP = ("request-id", "x-request-id", "retry-after", "anthropic-organization-id", "openai-processing-ms")
_KEEP_PREFIX = ("anthropic-ratelimit-", "x-ratelimit-")


def cloud_candidate(gw: Gateway, creq: ChatRequest, ctx: RequestContext, *, kind: str) -> Any:
    """The route's first candidate when it is a cloud backend of ``kind`` (else ``None``)."""
    try:
        route = gw.engine.resolve(creq, ctx)
    except OffloadError:
        return None  # the engine path raises the proper error
    if not route.candidates:
        return None
    cand = route.candidates[0]
    cfg = gw.engine.config.backends.get(cand.backend)
    if cfg is not None and cfg.kind == kind and cfg.is_cloud:
        return cand
    return None


class UsageMeter:
    """Reads usage and text from a provider's answer as its bytes pass (SSE or one JSON object)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.usage = Usage()
        self.text: list[str] = []
        self._buf = b""
        self._sse: bool | None = None
        self.model: str | None = None

    def feed(self, chunk: bytes, content_type: str) -> None:
        if self._sse is None:
            self._sse = "event-stream" in content_type
        self._buf += chunk
        if not self._sse:
            return
        while b"\n\n" in self._buf:
            event, self._buf = self._buf.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    self._data(line[5:].strip())

    def finish(self) -> None:
        if not self._sse and self._buf:
            try:
                self._object(loads(self._buf))
            except ValueError:
                pass

    def _data(self, data: bytes) -> None:
        if not data or data == b"[DONE]":
            return
        try:
            obj = loads(data)
        except ValueError:
            return
        if isinstance(obj, dict):
            self._event(obj)

    def _event(self, ev: dict[str, Any]) -> None:
        t = ev.get("type")
        if t == "message_start" and isinstance(ev.get("message"), dict):
            msg = ev["message"]
            self.model = msg.get("model") or self.model
            self._anthropic_usage(msg.get("usage"))
        elif t == "message_delta":
            self._anthropic_usage(ev.get("usage"))
        elif t == "content_block_delta":
            d = ev.get("delta") or {}
            if d.get("type") == "text_delta" and isinstance(d.get("text"), str):
                self.text.append(d["text"])
        elif ev.get("object") == "chat.completion.chunk":
            self.model = ev.get("model") or self.model
            for c in ev.get("choices") or []:
                piece = (c.get("delta") or {}).get("content")
                if isinstance(piece, str):
                    self.text.append(piece)
            self._openai_usage(ev.get("usage"))

    def _anthropic_usage(self, u: Any) -> None:
        if not isinstance(u, dict):
            return
        inp = sum(
            int(u.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        if inp:
            self.usage = Usage(input_tokens=inp, output_tokens=self.usage.output_tokens)
        if u.get("output_tokens") is not None:
            self.usage = Usage(input_tokens=self.usage.input_tokens, output_tokens=int(u["output_tokens"]))

    def _openai_usage(self, u: Any) -> None:
        if isinstance(u, dict):
            self.usage = Usage(
                input_tokens=int(u.get("prompt_tokens") or 0), output_tokens=int(u.get("completion_tokens") or 0)
            )

    def _object(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        self.model = obj.get("model") or self.model
        if obj.get("type") == "message":
            self._anthropic_usage(obj.get("usage"))
            self.text += [
                b.get("text", "") for b in obj.get("content") or [] if isinstance(b, dict) and b.get("type") == "text"
            ]
        else:
            self._openai_usage(obj.get("usage"))
            for c in obj.get("choices") or []:
                content = (c.get("message") or {}).get("content")
                if isinstance(content, str):
                    self.text.append(content)


def _response_headers(resp: Any) -> list[tuple[bytes, bytes]]:
    out = []
    for k, v in resp.headers.items():
        lk = k.lower()
        if lk in _KEEP or lk.startswith(_KEEP_PREFIX):
            out.append((lk.encode("latin-1"), v.encode("latin-1", "replace")))
    return out


async def try_passthrough(
    gw: Gateway, req: Request, ctx: RequestContext, creq: ChatRequest, *, kind: str, body: dict[str, Any], raw: bytes
) -> bool:
    """Forward the request unchanged when its route is a cloud ``kind`` backend; True when it was forwarded."""
    if not gw.has_cloud(kind):
        return False
    cand = cloud_candidate(gw, creq, ctx, kind=kind)
    if cand is None:
        return False
    await forward(
        gw,
        req,
        ctx,
        backend_name=cand.backend,
        body=body,
        raw=raw,
        upstream_model=cand.model.upstream_name,
        model_name=cand.model.name,
        stream=creq.stream,
    )
    return True


async def forward(
    gw: Gateway,
    req: Request,
    ctx: RequestContext,
    *,
    backend_name: str,
    body: dict[str, Any],
    raw: bytes,
    upstream_model: str | None,
    model_name: str,
    stream: bool,
    scenario: str | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Forward the caller's request to ``backend_name`` unchanged (except a renamed model) and relay the answer."""
    engine = gw.engine
    backend = engine.backend(backend_name)
    fwd = getattr(backend, "forward", None)
    if fwd is None:
        raise BackendError(f"backend {backend_name!r} cannot forward requests", backend=backend_name)
    if upstream_model and body.get("model") != upstream_model:
        body = {**body, "model": upstream_model}
        raw = dumps(body)
    journal = engine.journal
    jid = await journal.abegin(
        body,
        source=ctx.source,
        model_requested=model_name,
        dialect=ctx.dialect,
        client=ctx.client,
        kind="passthrough",
        headers=ctx.headers,
        inline=engine.alone,
    )
    route = {"passthrough": True, "backend": backend_name, "scenario": scenario}
    meter = UsageMeter(req.dialect)
    started = time.perf_counter()
    status = "error"
    error: OffloadError | None = None
    upstream_error: UpstreamHTTPError | None = None
    sink: StreamSink | None = None
    resp = None
    try:
        try:
            resp = await run_until_disconnect(req.receive, fwd(req.path, raw, req.headers))
        except UpstreamHTTPError as exc:  # the provider's own error body, in the caller's (same) dialect
            error = upstream_error = exc
            return
        ctype = resp.headers.get("content-type", "application/json")
        headers = [
            route_header(model_name, backend_name, 1),
            req.overhead_header(time.perf_counter() - started),
            *_response_headers(resp),
            *(extra_headers or []),
        ]
        sink = StreamSink(req.send, ctype, headers)

        async def pump() -> None:
            async for chunk in resp.aiter_bytes():
                meter.feed(chunk, ctype)
                await sink.write(chunk)

        await run_until_disconnect(req.receive, pump())
        meter.finish()
        status = "ok"
    except ClientDisconnected:
        status = "cancelled"
    except OffloadError as exc:
        error = exc
        if sink is None or not sink.started:
            raise
        log.warning("pass-through stream failed: %s", exc)
    except Exception as exc:  # transport errors mid-stream (TransportError)
        failed = BackendError(f"the upstream stream failed ({type(exc).__name__})", backend=backend_name)
        error = failed
        if sink is None or not sink.started:
            raise failed from exc
        log.warning("pass-through stream failed: %s", type(exc).__name__)
    finally:
        if resp is not None:
            await resp.aclose()
        await _journal_finish(gw, jid, status, error, meter, backend_name, model_name, route, started)
        # answered only now, so a caller that saw the end of the answer finds the journal row final
        if upstream_error is not None:
            await send_bytes(
                req.send,
                upstream_error.status,
                (upstream_error.body or "{}").encode(),
                "application/json",
                [req.overhead_header(time.perf_counter() - started)],
            )
        elif sink is not None and status != "cancelled" and (sink.started or status == "ok"):
            if error is not None and "event-stream" in sink.media_type:
                await sink.write(_stream_error(req.dialect, error))
            await sink.close()


def _stream_error(dialect: str, exc: OffloadError) -> bytes:
    if dialect == "anthropic":
        from offload.dialects.anthropic_stream import AnthropicStreamEncoder

        return AnthropicStreamEncoder("").error(exc)
    from offload.dialects.openai_stream import OpenAIStreamEncoder

    return OpenAIStreamEncoder("").error(exc)


async def _journal_finish(
    gw: Gateway,
    jid: str,
    status: str,
    error: OffloadError | None,
    meter: UsageMeter,
    backend_name: str,
    model_name: str,
    route: dict[str, Any],
    started: float,
) -> None:
    engine = gw.engine
    text = "".join(meter.text)
    model = meter.model or model_name
    attempt = Attempt(
        n=1,
        backend=backend_name,
        model=model,
        status="ok" if status == "ok" else ("cancelled" if status == "cancelled" else "error"),
        detail=error.message if error else "",
        latency_s=time.perf_counter() - started,
        usage=meter.usage,
    )
    try:
        cost = engine.prices.cost_usd(model, meter.usage)
    except Exception:
        cost = None
    await engine.journal.arecord_attempt(jid, attempt, cost_equiv_usd=cost, local=False)
    if status == "ok":
        await engine.journal.afinish(
            jid,
            status="ok",
            response={"content": text, "model": model},
            usage=meter.usage,
            model=model,
            backend=backend_name,
            verdict="not_run",
            route=route,
            local=False,
        )
    else:
        err = error.to_dict() if error else {"code": "cancelled", "message": "client disconnected"}
        await engine.journal.afinish(
            jid,
            status=status,
            error=err,
            usage=meter.usage,
            model=model,
            backend=backend_name,
            route=route,
            local=False,
            partial_output=text or None,
        )
