"""The Playground: chat with any inventory model (or ``auto``), streamed; and Code Mode, which sends the prompt
as a ``code_generation`` task through the verified cascade and answers with the code, the verdict and the route.

Both are journaled like every other request (source ``dashboard``), so they show up on the Requests page.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from offload.dashboard import views
from offload.dashboard.http import API_HEADERS, Call, Reply
from offload.engine import RequestContext
from offload.errors import InvalidRequest, OffloadError
from offload.routing.codeblocks import code_blocks, extract_python
from offload.routing.task import Task
from offload.server.asgi import ClientDisconnected, StreamSink, aiter_close, run_until_disconnect
from offload.types import ChatRequest, Message, StreamEnd, TextDelta, ToolCallEvent

MAX_MESSAGES = 100
MAX_TEXT = 200_000
CLIENT = "offload-dashboard"


def _request(call: Call, body: dict[str, Any], *, stream: bool) -> ChatRequest:
    """Validate the Playground's JSON into a canonical request."""
    eng = call.dash.engine
    model = body.get("model") or "auto"
    if not isinstance(model, str) or (model != "auto" and eng.config.model(model) is None):
        raise InvalidRequest(
            f"model {model!r} is not in the inventory", hint="pick auto or one of the models in the list"
        )
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_MESSAGES:
        raise InvalidRequest(f"messages must be a list of 1 to {MAX_MESSAGES} turns")
    messages = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise InvalidRequest('each message needs a role "user" or "assistant" and a content string')
        text = m.get("content")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise InvalidRequest(f"message content must be a string of at most {MAX_TEXT} characters")
        messages.append(Message.text(m["role"], text))
    if messages[-1].role != "user":
        raise InvalidRequest("the last message must be the user's")
    kw: dict[str, Any] = {}
    max_tokens = body.get("max_tokens")
    if max_tokens is not None:
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not 1 <= max_tokens <= 32768:
            raise InvalidRequest("max_tokens must be an integer between 1 and 32768")
        kw["max_tokens"] = max_tokens
    temperature = body.get("temperature")
    if temperature is not None:
        if not isinstance(temperature, int | float) or isinstance(temperature, bool) or not 0 <= temperature <= 2:
            raise InvalidRequest("temperature must be a number between 0 and 2")
        kw["temperature"] = float(temperature)
    system = body.get("system")
    if system is not None and (not isinstance(system, str) or len(system) > MAX_TEXT):
        raise InvalidRequest("system must be a string")
    return ChatRequest(model=model, messages=messages, system=system or None, stream=stream, **kw)


def _ctx(kind: str | None = None) -> RequestContext:
    return RequestContext(
        source="dashboard", client=CLIENT, hints={"kind": kind} if kind else {}, headers={"user-agent": CLIENT}
    )


def _sse(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'), default=str)}\n\n".encode()


async def chat(call: Call) -> Reply | None:
    """Stream an answer as server-sent events: ``start`` (the planned route), ``delta``..., then ``end``
    (model, backend, usage, timings, journal id) or ``error``."""
    eng = call.dash.engine
    creq = _request(call, await call.json(), stream=True)
    ctx = _ctx()
    route = eng.resolve(creq, ctx)
    sink = StreamSink(call.req.send, "text/event-stream; charset=utf-8", list(API_HEADERS))
    agen = eng.stream(creq, ctx).__aiter__()
    first = route.candidates[0] if route.candidates else None

    async def pump() -> None:
        await sink.write(
            _sse(
                {
                    "type": "start",
                    "model": first.model.name if first else creq.model,
                    "backend": first.backend if first else None,
                    "candidates": [c.model.name for c in route.candidates],
                    "reason": eng.redactor.text(getattr(route, "reason", "") or ""),
                }
            )
        )
        async for ev in agen:
            if isinstance(ev, TextDelta):
                await sink.write(_sse({"type": "delta", "text": ev.text}))
            elif isinstance(ev, ToolCallEvent):
                await sink.write(_sse({"type": "tool_call", "name": ev.call.name, "arguments": ev.call.arguments}))
            elif isinstance(ev, StreamEnd):
                r = ev.response
                await sink.write(
                    _sse(
                        {
                            "type": "end",
                            "model": r.model,
                            "backend": r.backend,
                            "journal_id": r.journal_id,
                            "usage": r.usage.model_dump(),
                            "timings": r.timings.model_dump(),
                            "finish_reason": r.finish_reason,
                        }
                    )
                )

    try:
        await run_until_disconnect(call.req.receive, pump())
    except ClientDisconnected:
        return None
    except OffloadError as exc:
        await sink.write(_sse({"type": "error", "error": exc.to_dict()}))
    finally:
        await aiter_close(agen)
    with contextlib.suppress(Exception):
        await sink.close()
    return None


def _code_of(content: str, source: str) -> dict[str, Any] | None:
    """The answer's code: the Python the verifiers checked when there is some, else its first fenced block."""
    from offload.routing.verify import entry_point_of

    entry = entry_point_of(source)
    py = extract_python(content, [entry] if entry else [])
    if py:
        return {"language": "python", "code": py}
    blocks = [b for b in code_blocks(content) if b.code.strip()]
    if blocks:
        return {"language": blocks[0].language or "text", "code": blocks[0].code}
    return None


async def code(call: Call) -> Reply:
    """Code Mode: run the prompt as a ``code_generation`` task through the verified cascade."""
    eng = call.dash.engine
    creq = _request(call, await call.json(), stream=False)
    ctx = _ctx("code_generation")
    task = Task(request=creq, kind="code_generation", hints=dict(ctx.hints))
    jid = await eng.begin(creq, ctx, task.kind)
    source = creq.messages[-1].text_content
    try:
        resp = await run_until_disconnect(call.req.receive, eng.run(task, ctx, journal_id=jid))
    except OffloadError as exc:
        entry = await eng.journal.aget(jid)
        out = views.detail(entry, eng.redactor)
        return Reply(
            {"ok": False, "journal_id": jid, "verdict": "failed", "error": exc.to_dict(), "request": out},
            status=exc.http_status if exc.http_status >= 400 else 500,
        )
    entry = await eng.journal.aget(jid)
    return Reply(
        {
            "ok": True,
            "journal_id": jid,
            "verdict": resp.verdict,
            "model": resp.model,
            "backend": resp.backend,
            "content": eng.redactor.text(resp.content),
            "code": eng.redactor.obj(_code_of(resp.content, source)),
            "route_reason": eng.redactor.text(resp.route_reason),
            "usage": resp.usage.model_dump(),
            "request": views.detail(entry, eng.redactor),
        }
    )
