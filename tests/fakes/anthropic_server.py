"""An in-process fake of Anthropic's Messages API, wire-exact.

Serves ``POST /v1/messages`` (a ``message`` object, or the SSE sequence ``message_start``, per block
``content_block_start`` / ``content_block_delta`` (``text_delta``, ``input_json_delta``, ``thinking_delta``,
``signature_delta``) / ``content_block_stop``, a ``ping`` after the first block opens, ``message_delta`` with
``stop_reason`` and cumulative ``usage``, ``message_stop``; each with its ``event:`` line), ``POST
/v1/messages/count_tokens`` and ``GET /v1/models`` (paginated with ``limit`` / ``after_id``). Errors are
``{"type": "error", "error": {"type", "message"}, "request_id"}``; a missing ``anthropic-version`` header, a
missing ``max_tokens``, a ``system`` role inside ``messages``, empty text blocks and unanswered ``tool_use`` ids are
rejected with 400 as the real API does.

Scripting works like :class:`tests.fakes.openai_server.FakeOpenAI`::

    fake = FakeAnthropic(api_key="sk-ant-test")
    fake.reply("Hi!", thinking="let me think")
    fake.reply_tool_use("get_weather", {"city": "Paris"})
    fake.reply("partial", stream_error={"type": "overloaded_error", "message": "Overloaded"}, error_after=3)
    fake.fail(529, "Overloaded")
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.openai_server import DropConnection, Recorded, SSEResponse

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def anthropic_error(status: int, message: str, *, type: str | None = None) -> Response:
    """An Anthropic-shaped error response."""
    kind = type or ERROR_TYPES.get(status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": _rid()}
    return JSONResponse(body, status, headers={"request-id": body["request_id"]})


@dataclass
class Reply:
    """One scripted answer (``status >= 400`` makes it an HTTP error answer)."""

    text: str = "ok"
    tool_uses: list[dict[str, Any]] = field(default_factory=list)  # {"name", "input", optional "id"}
    thinking: str | None = None
    stop_reason: str | None = None
    usage: tuple[int, int] | None = None  # (input_tokens, output_tokens)
    status: int = 200
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_size: int = 3
    args_chunk: int = 6
    drop_after: int | None = None
    drop: Literal["abort", "eof"] = "abort"
    stream_error: dict[str, Any] | None = None  # sent as an ``error`` event after ``error_after`` events
    error_after: int = 3


class FakeAnthropic:
    """A scriptable Anthropic API; ``.app`` is the ASGI app (serve it with ``serve_app``)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: list[str] | None = None,
        default: str = "ok",
        page_size: int = 20,
    ) -> None:
        self.api_key = api_key
        self.models = models
        self.default = default
        self.page_size = page_size
        self.queue: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.disconnects = 0
        self.disconnected = threading.Event()
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # -- scripting ----------------------------------------------------------------------------------
    def reply(self, text: str | Reply = "ok", **kw: Any) -> FakeAnthropic:
        self.queue.append(text if isinstance(text, Reply) else Reply(text=text, **kw))
        return self

    def reply_tool_use(self, name: str, input: dict[str, Any], *, text: str = "", **kw: Any) -> FakeAnthropic:
        return self.reply(Reply(text=text, tool_uses=[{"name": name, "input": input}], **kw))

    def fail(
        self, status: int, message: str = "error", *, retry_after: str | None = None, times: int = 1
    ) -> FakeAnthropic:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.queue.append(Reply(status=status, message=message, headers=headers))
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

    # -- checks -------------------------------------------------------------------------------------
    async def _record(self, request: Request) -> Recorded:
        headers = {k.lower(): v for k, v in request.headers.items()}
        rec = Recorded(request.method, request.url.path, headers, await request.body(), dict(request.query_params))
        self.requests.append(rec)
        return rec

    def _gate(self, rec: Recorded) -> Response | None:
        if self.api_key is not None:
            # documented: ``x-api-key``; the installed official SDK sends ``Authorization: Bearer`` instead
            given = rec.headers.get("x-api-key") or rec.headers.get("authorization", "").removeprefix("Bearer ")
            if given != self.api_key:
                return anthropic_error(401, "invalid x-api-key")
        if not rec.headers.get("anthropic-version"):
            return anthropic_error(400, "anthropic-version: header is required")
        return None

    def _body(self, rec: Recorded, *, count: bool = False) -> dict[str, Any] | Response:
        denied = self._gate(rec)
        if denied:
            return denied
        try:
            body = rec.json
        except json.JSONDecodeError:
            return anthropic_error(400, "There was an error parsing the body of your request.")
        if not isinstance(body, dict):
            return anthropic_error(400, "The request body must be a JSON object.")
        problem = validate(body, count=count)
        if problem:
            return anthropic_error(400, problem)
        if self.models is not None and body["model"] not in self.models:
            return anthropic_error(404, f"model: {body['model']}")
        return body

    # -- endpoints ----------------------------------------------------------------------------------
    async def _messages(self, request: Request) -> Response:
        rec = await self._record(request)
        body = self._body(rec)
        if isinstance(body, Response):
            return body
        step = self.queue.popleft() if self.queue else Reply(text=self.default)
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.status >= 400:
            resp = anthropic_error(step.status, step.message or "error")
            resp.headers.update(step.headers)
            return resp
        usage = step.usage or (input_tokens(body), max(1, len(step.text) // 4) + 8 * len(step.tool_uses))
        msg = message(body["model"], step, usage)
        if not body.get("stream"):
            return JSONResponse(msg, headers={"request-id": _rid(), **step.headers})
        return SSEResponse(
            _events(msg, step),
            chunk_delay=step.chunk_delay,
            on_disconnect=self._gone,
            headers={"request-id": _rid(), "cache-control": "no-cache", **step.headers},
        )

    async def _count(self, request: Request) -> Response:
        rec = await self._record(request)
        body = self._body(rec, count=True)
        if isinstance(body, Response):
            return body
        return JSONResponse({"input_tokens": input_tokens(body)})

    async def _models(self, request: Request) -> Response:
        rec = await self._record(request)
        denied = self._gate(rec)
        if denied:
            return denied
        names = self.models if self.models is not None else ["claude-fake-1"]
        limit = min(int(rec.query.get("limit", 20)), self.page_size)
        start = names.index(rec.query["after_id"]) + 1 if rec.query.get("after_id") in names else 0
        page = names[start : start + limit]
        data = [
            {
                "type": "model",
                "id": n,
                "display_name": n.replace("-", " ").title(),
                "created_at": "2025-02-19T00:00:00Z",
            }
            for n in page
        ]
        return JSONResponse(
            {
                "data": data,
                "has_more": start + limit < len(names),
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            }
        )


# -- wire -----------------------------------------------------------------------------------------------------
def _rid() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def input_tokens(body: dict[str, Any]) -> int:
    """A deterministic stand-in for the real tokenizer."""
    text = json.dumps([body.get("system"), body.get("messages"), body.get("tools")])
    return max(1, len(text) // 4)


def _blocks(content: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def validate(body: dict[str, Any], *, count: bool = False) -> str | None:
    """The message the real API gives for a body it rejects with 400, else ``None``."""
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not count and not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required" if messages is None else "messages: at least one message is required"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string or list of text blocks"
    pending: set[str] = set()
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("user", "assistant"):
            return (
                f'messages.{i}.role: Input should be "user" or "assistant"'
                if role != "system"
                else 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
                'not "system" as an input message role.'
            )
        blocks = _blocks(m.get("content"))
        if not blocks and not (i == len(messages) - 1 and role == "assistant"):
            return (
                f"messages.{i}: all messages must have non-empty content except for the optional final "
                "assistant message"
            )
        for j, b in enumerate(blocks):
            if b.get("type") == "text" and not b.get("text"):
                return f"messages.{i}.content.{j}.text: text content blocks must be non-empty"
            if b.get("type") == "image" and (b.get("source") or {}).get("type") not in ("base64", "url"):
                return f"messages.{i}.content.{j}.image.source: Input tag does not match any of the expected tags"
        if role == "user":
            results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if pending - results:
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(sorted(pending - results))}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message."
                )
            pending = set()
        else:
            if pending:
                return f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after"
            pending = {str(b.get("id")) for b in blocks if b.get("type") == "tool_use"}
    for i, t in enumerate(body.get("tools") or []):
        if not t.get("name") or "input_schema" not in t:
            return f"tools.{i}.custom.input_schema: Field required"
    return None


def message(model: str, step: Reply, usage: tuple[int, int]) -> dict[str, Any]:
    """The ``message`` object for a scripted reply."""
    content: list[dict[str, Any]] = []
    if step.thinking is not None:
        content.append({"type": "thinking", "thinking": step.thinking, "signature": "EqQBCgIYAhIM" + "a" * 24})
    if step.text:
        content.append({"type": "text", "text": step.text})
    for t in step.tool_uses:
        content.append(
            {
                "type": "tool_use",
                "id": t.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                "name": t["name"],
                "input": t["input"],
            }
        )
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": step.stop_reason or ("tool_use" if step.tool_uses else "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage[0],
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": usage[1],
        },
    }


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


async def _events(msg: dict[str, Any], step: Reply) -> AsyncIterator[bytes]:
    start = {
        **msg,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**msg["usage"], "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(msg["content"]):
        kind = block["type"]
        if kind == "thinking":
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                }
            )
            events += [
                {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": p}}
                for p in _pieces(block["thinking"], step.chunk_size)
            ]
            events.append(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "signature_delta", "signature": block["signature"]},
                }
            )
        elif kind == "text":
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
            )
            events += [
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}}
                for p in _pieces(block["text"], step.chunk_size)
            ]
        else:
            head = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            events.append({"type": "content_block_start", "index": index, "content_block": head})
            events += [
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": p},
                }
                for p in [""] + _pieces(json.dumps(block["input"]), step.args_chunk)
            ]
        events.append({"type": "content_block_stop", "index": index})
        if index == 0:
            events.insert(2, {"type": "ping"})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": msg["usage"]["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    for n, event in enumerate(events):
        if step.stream_error is not None and n == step.error_after:
            yield _sse({"type": "error", "error": step.stream_error})
            return
        if step.drop_after is not None and n == step.drop_after:
            if step.drop == "abort":
                raise DropConnection()
            return
        yield _sse(event)
