"""An in-process fake of the OpenAI API (Chat Completions, Models, Embeddings), wire-exact.

Follows the documented formats: ``chat.completion`` objects; SSE ``chat.completion.chunk`` objects sent as
``data: {...}`` lines ending with ``data: [DONE]``; a first chunk carrying ``role``; tool calls streamed as
``delta.tool_calls[{index, id, type, function: {name, arguments: ""}}]`` followed by argument fragments; a final
usage chunk with ``choices: []`` only when ``stream_options.include_usage`` is set; errors as
``{"error": {"message", "type", "param", "code"}}``; embeddings as floats or base64 (little-endian float32).

Scripting (answers are used in order by POST endpoints; when the queue is empty the fake answers ``default``)::

    fake = FakeOpenAI(api_key="sk-test", models=["gpt-test"])
    fake.reply("Hello!", chunk_size=2)
    fake.reply_tool_call("get_weather", {"city": "Paris"})
    fake.fail(429, "slow down", retry_after="2")
    fake.reply("cut", drop_after=2)           # connection aborted after 2 SSE events
    with serve_app(fake.app) as url: ...
    fake.requests[-1].json, fake.requests[-1].headers, fake.disconnected.is_set()

Unlike the real API, a wrong key is echoed in full in the 401 message: that makes redaction tests meaningful.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

# -- shared by the fakes ------------------------------------------------------------------------------------


class DropConnection(Exception):
    """Raised inside a streaming response to make the server abort the connection (no chunked terminator)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and record.exc_info[0] is DropConnection)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SSEResponse(Response):
    """Streams byte chunks, pausing ``chunk_delay`` between them, and reports a client that goes away."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        chunk_delay: float = 0.0,
        on_disconnect: Callable[[], None],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=200, headers=headers, media_type="text/event-stream; charset=utf-8")
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.chunks = chunks
        self.chunk_delay = chunk_delay
        self.on_disconnect = on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        listener = asyncio.create_task(listen())
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            first = True
            async for chunk in self.chunks:
                if self.chunk_delay and not first:
                    try:
                        await asyncio.wait_for(gone.wait(), self.chunk_delay)
                    except TimeoutError:
                        pass
                first = False
                if gone.is_set():
                    self.on_disconnect()
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            self.on_disconnect()
        finally:
            listener.cancel()


@dataclass
class Reply:
    """One scripted answer. ``status >= 400`` makes it an error answer with ``error`` as the error object."""

    text: str = "ok"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments", optional "id"}
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens)
    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_size: int = 3
    args_chunk: int = 7
    drop_after: int | None = None
    drop: Literal["abort", "eof"] = "abort"
    stream_error: dict[str, Any] | None = None  # an error chunk sent after ``drop_after`` events


_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error"}


def openai_error(status: int, message: str, *, type: str | None = None, code: Any = None, param: Any = None) -> Any:
    """An OpenAI-shaped error response."""
    kind = type or _ERROR_TYPES.get(status, "requests" if status == 429 else "server_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


class FakeOpenAI:
    """A scriptable OpenAI-compatible server; ``.app`` is the ASGI app (serve it with ``serve_app``)."""

    def __init__(self, *, api_key: str | None = None, models: list[str] | None = None, default: str = "ok") -> None:
        self.api_key = api_key
        self.models = models
        self.default = default
        self.queue: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.disconnects = 0
        self.disconnected = threading.Event()
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # -- scripting ----------------------------------------------------------------------------------
    def reply(self, text: str | Reply = "ok", **kw: Any) -> FakeOpenAI:
        self.queue.append(text if isinstance(text, Reply) else Reply(text=text, **kw))
        return self

    def reply_tool_call(self, name: str, arguments: dict[str, Any], *, text: str = "", **kw: Any) -> FakeOpenAI:
        return self.reply(Reply(text=text, tool_calls=[{"name": name, "arguments": arguments}], **kw))

    def fail(
        self, status: int, message: str = "error", *, retry_after: str | None = None, times: int = 1, **err: Any
    ) -> FakeOpenAI:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.queue.append(Reply(status=status, error={"message": message, **err}, headers=headers))
        return self

    def reset(self) -> None:
        self.queue.clear()
        self.requests.clear()
        self.disconnects = 0
        self.disconnected.clear()

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def _gone(self) -> None:
        self.disconnects += 1
        self.disconnected.set()

    # -- endpoints ----------------------------------------------------------------------------------
    async def _record(self, request: Request) -> Recorded:
        rec = Recorded(
            request.method,
            request.url.path,
            {k.lower(): v for k, v in request.headers.items()},
            await request.body(),
            dict(request.query_params),
        )
        self.requests.append(rec)
        return rec

    def _auth(self, rec: Recorded) -> Response | None:
        if self.api_key is None:
            return None
        auth = rec.headers.get("authorization", "")
        if not auth:
            return openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if auth != f"Bearer {self.api_key}":
            given = auth.removeprefix("Bearer ")
            return openai_error(
                401,
                f"Incorrect API key provided: {given}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        return None

    def _body(self, rec: Recorded) -> dict[str, Any] | Response:
        try:
            body = rec.json
        except json.JSONDecodeError:
            return openai_error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return openai_error(400, "The request body must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return openai_error(400, "you must provide a model parameter", param="model")
        if self.models is not None and model not in self.models:
            return openai_error(
                404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
            )
        return body

    async def _next(self, rec: Recorded) -> Reply | Response:
        step = self.queue.popleft() if self.queue else Reply(text=self.default)
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.status >= 400:
            err = dict(step.error or {})
            resp = openai_error(step.status, str(err.pop("message", "error")), **err)
            resp.headers.update(step.headers)
            return resp
        return step

    async def _chat(self, request: Request) -> Response:
        rec = await self._record(request)
        body = self._auth(rec) or self._body(rec)
        if isinstance(body, Response):
            return body
        invalid = validate_chat(body)
        if invalid:
            return openai_error(400, invalid[1], param=invalid[0])
        step = await self._next(rec)
        if isinstance(step, Response):
            return step
        prompt_tokens = max(1, len(json.dumps(body["messages"])) // 4)
        usage = step.usage or (prompt_tokens, max(1, len(step.text) // 4) + 8 * len(step.tool_calls))
        if not body.get("stream"):
            return JSONResponse(
                completion(body["model"], step, usage), headers={"x-request-id": _rid(), **step.headers}
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return SSEResponse(
            _stream(body["model"], step, usage, include_usage),
            chunk_delay=step.chunk_delay,
            on_disconnect=self._gone,
            headers={"x-request-id": _rid(), "cache-control": "no-cache", **step.headers},
        )

    async def _embeddings(self, request: Request) -> Response:
        rec = await self._record(request)
        body = self._auth(rec) or self._body(rec)
        if isinstance(body, Response):
            return body
        step = await self._next(rec)
        if isinstance(step, Response):
            return step
        inputs = body.get("input")
        items = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(items, list) or not items:
            return openai_error(400, "'input' must be a non-empty string or array", param="input")
        b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(items):
            vec = embedding(str(text))
            value: Any = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode() if b64 else vec
            data.append({"object": "embedding", "index": i, "embedding": value})
        tokens = sum(max(1, len(str(t)) // 4) for t in items)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _models(self, request: Request) -> Response:
        rec = await self._record(request)
        denied = self._auth(rec)
        if denied:
            return denied
        names = self.models if self.models is not None else ["fake-model"]
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in names],
            }
        )


# -- wire builders --------------------------------------------------------------------------------------------
def _rid() -> str:
    return f"req_{uuid.uuid4().hex[:16]}"


def embedding(text: str, dims: int = 8) -> list[float]:
    """A deterministic toy embedding (float32-exact values)."""
    vec = [0.0] * dims
    for i, byte in enumerate(text.encode()):
        vec[i % dims] += byte / 256.0
    return [struct.unpack("<f", struct.pack("<f", v))[0] for v in vec]


def validate_chat(body: dict[str, Any]) -> tuple[str, str] | None:
    """``(param, message)`` for a body the real API would reject with 400, else ``None``."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages", "[] is too short - 'messages'"
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return (
                f"messages.[{i}].role",
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', "
                "and 'developer'.",
            )
        if role == "tool" and not m.get("tool_call_id"):
            return f"messages.[{i}].tool_call_id", f"Missing required parameter: 'messages[{i}].tool_call_id'."
    if body.get("stream_options") is not None and not body.get("stream"):
        return "stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    fmt = body.get("response_format")
    if fmt is not None:
        if fmt.get("type") not in ("text", "json_object", "json_schema"):
            return "response_format.type", f"Invalid value: '{fmt.get('type')}'."
        if fmt["type"] == "json_schema" and not (fmt.get("json_schema") or {}).get("name"):
            return "response_format.json_schema.name", "Missing required parameter: 'response_format.json_schema.name'."
    for i, tool in enumerate(body.get("tools") or []):
        if tool.get("type") != "function" or not (tool.get("function") or {}).get("name"):
            return f"tools[{i}]", "Missing required parameter: 'tools[0].function.name'."
    return None


def _tool_calls(step: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": c.get("id") or f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
        }
        for c in step.tool_calls
    ]


def _finish(step: Reply) -> str:
    return step.finish_reason or ("tool_calls" if step.tool_calls else "stop")


def completion(model: str, step: Reply, usage: tuple[int, int]) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": step.text or None, "refusal": None}
    if step.tool_calls:
        message["tool_calls"] = _tool_calls(step)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(step)}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


async def _stream(model: str, step: Reply, usage: tuple[int, int], include_usage: bool) -> AsyncIterator[bytes]:
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        out = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        if include_usage:
            out.setdefault("usage", None)
        return out

    events: list[dict[str, Any]] = [chunk({"role": "assistant", "content": "", "refusal": None})]
    for i in range(0, len(step.text), step.chunk_size):
        events.append(chunk({"content": step.text[i : i + step.chunk_size]}))
    for index, call in enumerate(_tool_calls(step)):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        args = call["function"]["arguments"]
        for i in range(0, len(args), step.args_chunk):
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": args[i : i + step.args_chunk]}}]})
            )
    events.append(chunk({}, _finish(step)))
    if include_usage:
        events.append(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
            }
        )
    for n, event in enumerate(events):
        if step.drop_after is not None and n == step.drop_after:
            if step.stream_error is not None:
                yield f"data: {json.dumps({'error': step.stream_error})}\n\n".encode()
                return
            if step.drop == "abort":
                raise DropConnection()
            return
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b"data: [DONE]\n\n"
