"""Anthropic streaming: canonical stream events -> the Messages API's server-sent events.

The sequence is exactly the one the Anthropic SDKs and Claude Code expect::

    message_start → ping → (content_block_start → content_block_delta* → content_block_stop)*
                  → message_delta (stop_reason, usage) → message_stop

Text arrives as ``text_delta``; a tool call opens a ``tool_use`` block with ``input: {}`` and sends its
arguments as ``input_json_delta`` pieces (Claude Code ignores arguments given only in the start event).
An upstream failure after the stream started becomes ``event: error`` and the stream ends there.
"""

from __future__ import annotations

from typing import Any

from offload.dialects.anthropic import error_body, error_status, message_id, stop_reason, usage_json
from offload.dialects.common import dumps
from offload.errors import OffloadError
from offload.types import ChatResponse, StreamEnd, StreamEvent, TextDelta, ToolCallEvent

MEDIA_TYPE = "text/event-stream"
#: Tool arguments are sent in pieces of at most this many characters.
JSON_PIECE = 512


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + dumps(data) + b"\n\n"


def _text_delta(index: int, text: str) -> bytes:
    """``sse("content_block_delta", {... "delta": {"type": "text_delta", "text": text}})``, the common event,
    written without building and encoding its envelope each time (the same bytes)."""
    return b"%s%d%s%s}}\n\n" % (_TEXT_DELTA_HEAD, index, _TEXT_DELTA_MID, dumps(text))


_TEXT_DELTA_HEAD = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
_TEXT_DELTA_MID = b',"delta":{"type":"text_delta","text":'


class AnthropicStreamEncoder:
    """Turns canonical stream events into Anthropic SSE bytes for one response."""

    media_type = MEDIA_TYPE

    def __init__(self, model: str, *, input_tokens: int = 0) -> None:
        self.id = message_id()
        self.model = model
        self.input_tokens = input_tokens
        self._index = -1
        self._open: str | None = None  # type of the open content block
        self._started = False

    def start(self) -> bytes:
        self._started = True
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_json(self.input_tokens, 1),
        }
        return sse("message_start", {"type": "message_start", "message": message}) + sse("ping", {"type": "ping"})

    def _close_block(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return sse("content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _open_block(self, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self._index += 1
        self._open = block["type"]
        return out + sse(
            "content_block_start", {"type": "content_block_start", "index": self._index, "content_block": block}
        )

    def event(self, ev: StreamEvent) -> bytes:
        head = b"" if self._started else self.start()
        if isinstance(ev, TextDelta):
            if not ev.text:
                return head
            if self._open != "text":
                head += self._open_block({"type": "text", "text": ""})
            return head + _text_delta(self._index, ev.text)
        if isinstance(ev, ToolCallEvent):
            call = ev.call
            out = head + self._open_block({"type": "tool_use", "id": call.id, "name": call.name, "input": {}})
            args = call.arguments_json()
            for i in range(0, len(args), JSON_PIECE):
                out += sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": self._index,
                        "delta": {"type": "input_json_delta", "partial_json": args[i : i + JSON_PIECE]},
                    },
                )
            return out + self._close_block()
        if isinstance(ev, StreamEnd):
            return head + self.end(ev.response)
        return head

    def end(self, resp: ChatResponse) -> bytes:
        out = b"" if self._started else self.start()
        if self._index < 0:  # an empty answer still gets one (empty) text block
            out += self._open_block({"type": "text", "text": ""})
        out += self._close_block()
        usage = {
            "input_tokens": resp.usage.input_tokens or self.input_tokens,
            "output_tokens": resp.usage.output_tokens,
        }
        out += sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(resp), "stop_sequence": None},
                "usage": usage,
            },
        )
        return out + sse("message_stop", {"type": "message_stop"})

    def error(self, exc: OffloadError) -> bytes:
        status = error_status(exc)
        return sse("error", error_body(exc, status))
