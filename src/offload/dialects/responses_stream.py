"""The Responses API's output side: the ``response`` object, its output items, and the streamed events.

A stream is exactly the sequence Codex CLI and the ``openai`` SDK's stream accumulator expect (``event:`` +
``data:`` lines, ``sequence_number`` increasing from 0, no ``[DONE]``)::

    response.created → response.in_progress
      → for text:  response.output_item.added (message) → response.content_part.added
                   → response.output_text.delta* → response.output_text.done → response.content_part.done
                   → response.output_item.done (the message with its text: Codex reads it from here)
      → per call:  response.output_item.added (function_call) → response.function_call_arguments.delta
                   → response.function_call_arguments.done → response.output_item.done
    → response.completed (the whole response with usage)   | response.incomplete (max_output_tokens hit)

A failure after the stream started ends it with ``error`` and ``response.failed`` (whose ``error.code`` Codex
acts on: ``context_length_exceeded`` stops, anything else is retried).
"""

from __future__ import annotations

import json
import time
from typing import Any

from offload.dialects.common import dumps, public_message
from offload.dialects.responses import ResponsesRequest, new_id
from offload.errors import OffloadError
from offload.types import ChatResponse, StreamEnd, StreamEvent, TextDelta, ToolCall, ToolCallEvent

MEDIA_TYPE = "text/event-stream"


# -- output ----------------------------------------------------------------------------------------------------
def usage_json(resp: ChatResponse) -> dict[str, Any]:
    """The Responses usage object (no cache or reasoning accounting locally: those counts are 0)."""
    u = resp.usage
    return {
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": u.total_tokens,
    }


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    """An assistant ``message`` output item with one ``output_text`` part."""
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [text_part(text)] if status == "completed" else [],
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call_item(p: ResponsesRequest, call: ToolCall, item_id: str, status: str = "completed") -> dict[str, Any]:
    """A ``function_call`` item (with its ``namespace`` restored), or ``custom_tool_call`` for free-form tools."""
    if call.name in p.custom_tools:
        value = call.arguments.get("input", "")
        return {
            "id": item_id,
            "type": "custom_tool_call",
            "status": status,
            "call_id": call.id,
            "name": call.name,
            "input": "" if status != "completed" else value if isinstance(value, str) else json.dumps(value),
        }
    item: dict[str, Any] = {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments_json() if status == "completed" else "",
    }
    if call.name in p.namespaces:
        item["namespace"], item["name"] = p.namespaces[call.name]
    return item


def final_status(p: ResponsesRequest, resp: ChatResponse) -> tuple[str, dict[str, str] | None]:
    """``completed``, or ``incomplete`` with its reason. A length stop counts only against a ``max_output_tokens``
    the caller set: a cap the caller never asked for must not make agents (Codex) retry the turn."""
    if resp.finish_reason == "length" and p.max_output_tokens is not None:
        return "incomplete", {"reason": "max_output_tokens"}
    if resp.finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def response_json(
    p: ResponsesRequest,
    *,
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    incomplete: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``response`` object (for JSON answers and the lifecycle events of a stream)."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
        "previous_response_id": None,
        "service_tier": "default",
        "store": False,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        **p.echo,
    }


def render_response(p: ResponsesRequest, resp: ChatResponse) -> dict[str, Any]:
    """A finished ``response`` object for ``resp``."""
    output: list[dict[str, Any]] = []
    if resp.content or not resp.tool_calls:
        output.append(message_item(new_id("msg"), resp.content))
    output.extend(call_item(p, c, new_id("fc")) for c in resp.tool_calls)
    status, incomplete = final_status(p, resp)
    return response_json(
        p,
        response_id=new_id("resp"),
        created_at=int(time.time()),
        model=resp.model,
        status=status,
        output=output,
        usage=usage_json(resp),
        incomplete=incomplete,
    )


def failure_json(exc: OffloadError) -> dict[str, Any]:
    """``response.error`` for a failed response. Codes Codex acts on: ``context_length_exceeded`` (stop),
    ``rate_limit_exceeded`` (wait, retry); everything else retries as ``server_error``."""
    status = exc.http_status
    if exc.code == "context_length_exceeded":
        code = exc.code
    elif status == 429:
        code = "rate_limit_exceeded"
    elif status >= 500:
        code = "server_error"
    else:
        code = exc.code
    return {"code": code, "message": public_message(exc)}


class ResponsesStreamEncoder:
    """Turns canonical stream events into Responses API server-sent events for one response."""

    media_type = MEDIA_TYPE

    def __init__(self, request: ResponsesRequest, model: str) -> None:
        self.request = request
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.model = model
        self._seq = 0
        self._started = False
        self._output: list[dict[str, Any]] = []
        self._msg_id: str | None = None  # the open message item
        self._text: list[str] = []
        self._sent_calls: set[str] = set()

    def _sse(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, **data, "sequence_number": self._seq}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + dumps(payload) + b"\n\n"

    def _response(self, status: str, **kw: Any) -> dict[str, Any]:
        return response_json(
            self.request,
            response_id=self.id,
            created_at=self.created_at,
            model=self.model,
            status=status,
            output=list(self._output),
            **kw,
        )

    def start(self) -> bytes:
        """``response.created`` and ``response.in_progress`` (sent once, before anything else)."""
        self._started = True
        snapshot = self._response("in_progress")
        return self._sse("response.created", response=snapshot) + self._sse("response.in_progress", response=snapshot)

    def _open_message(self) -> bytes:
        self._msg_id = new_id("msg")
        self._text = []
        where = {"item_id": self._msg_id, "output_index": len(self._output), "content_index": 0}
        return self._sse(
            "response.output_item.added",
            output_index=len(self._output),
            item=message_item(self._msg_id, "", "in_progress"),
        ) + self._sse("response.content_part.added", **where, part=text_part(""))

    def _close_message(self) -> bytes:
        if self._msg_id is None:
            return b""
        text = "".join(self._text)
        index = len(self._output)
        where = {"item_id": self._msg_id, "output_index": index, "content_index": 0}
        item = message_item(self._msg_id, text)
        out = (
            self._sse("response.output_text.done", **where, text=text, logprobs=[])
            + self._sse("response.content_part.done", **where, part=text_part(text))
            + self._sse("response.output_item.done", output_index=index, item=item)
        )
        self._output.append(item)
        self._msg_id = None
        return out

    def _call(self, call: ToolCall) -> bytes:
        self._sent_calls.add(call.id)
        index = len(self._output)
        item_id = new_id("fc")
        done = call_item(self.request, call, item_id)
        out = self._sse(
            "response.output_item.added", output_index=index, item=call_item(self.request, call, item_id, "in_progress")
        )
        if done["type"] == "custom_tool_call":
            where = {"item_id": item_id, "output_index": index}
            out += self._sse("response.custom_tool_call_input.delta", **where, delta=done["input"])
            out += self._sse("response.custom_tool_call_input.done", **where, input=done["input"])
        else:
            where = {"item_id": item_id, "output_index": index}
            out += self._sse("response.function_call_arguments.delta", **where, delta=done["arguments"])
            out += self._sse("response.function_call_arguments.done", **where, arguments=done["arguments"])
        self._output.append(done)
        return out + self._sse("response.output_item.done", output_index=index, item=done)

    def event(self, ev: StreamEvent) -> bytes:
        """Bytes for one canonical event (``StreamEnd`` closes the stream)."""
        head = b"" if self._started else self.start()
        if isinstance(ev, TextDelta):
            if not ev.text:
                return head
            if self._msg_id is None:
                head += self._open_message()
            self._text.append(ev.text)
            where = {"item_id": self._msg_id, "output_index": len(self._output), "content_index": 0}
            return head + self._sse("response.output_text.delta", **where, delta=ev.text, logprobs=[])
        if isinstance(ev, ToolCallEvent):
            return head + self._close_message() + self._call(ev.call)
        if isinstance(ev, StreamEnd):
            return head + self.end(ev.response)
        return head

    def end(self, resp: ChatResponse) -> bytes:
        """Close the open message and send ``response.completed`` (or ``response.incomplete``)."""
        out = b""
        if not self._output and self._msg_id is None and not resp.tool_calls:  # an empty answer is one empty message
            out += self._open_message()
        out += self._close_message()
        for call in resp.tool_calls:  # calls a backend reported only in its final response
            if call.id not in self._sent_calls:
                out += self._call(call)
        status, incomplete = final_status(self.request, resp)
        self.model = resp.model or self.model
        final = self._response(status, usage=usage_json(resp), incomplete=incomplete)
        return out + self._sse(f"response.{status}", response=final)

    def error(self, exc: OffloadError) -> bytes:
        """An ``error`` event, then ``response.failed`` (the HTTP status is already 200 by then)."""
        head = b"" if self._started else self.start()
        failure = failure_json(exc)
        param = exc.details.get("param") if isinstance(exc.details, dict) else None
        return (
            head
            + self._sse("error", code=failure["code"], message=failure["message"], param=param)
            + self._sse("response.failed", response=self._response("failed", error=failure))
        )


__all__ = ["MEDIA_TYPE", "ResponsesStreamEncoder", "render_response", "response_json", "usage_json"]
