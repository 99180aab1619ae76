"""OpenAI streaming: canonical stream events -> ``chat.completion.chunk`` server-sent events.

Sequence: a first chunk with ``delta.role``; one chunk per text piece (``delta.content``); one chunk per tool
call (``delta.tool_calls[{index, id, type, function: {name, arguments}}]``); a last chunk with an empty delta
and ``finish_reason``; when ``stream_options.include_usage`` was set, a usage chunk with ``choices: []``
(every earlier chunk then carries ``"usage": null``); then ``data: [DONE]``. An upstream failure after the
stream started is sent as ``data: {"error": {...}}`` and the stream stops there.
"""

from __future__ import annotations

import time
from typing import Any

from offload.dialects.common import dumps
from offload.dialects.openai import completion_id, error_body, finish_reason, tool_call_json, usage_json
from offload.errors import OffloadError
from offload.types import ChatResponse, StreamEnd, StreamEvent, TextDelta, ToolCallEvent

MEDIA_TYPE = "text/event-stream"
DONE = b"data: [DONE]\n\n"
_PROBE = {"\x00probe": 0}  # a delta no real chunk has: where the delta goes in an encoded chunk


class OpenAIStreamEncoder:
    """Turns canonical stream events into SSE bytes for one response."""

    media_type = MEDIA_TYPE

    def __init__(self, model: str, *, include_usage: bool = False) -> None:
        self.id = completion_id()
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self._tool_index = 0
        self._started = False
        # a text chunk differs from the next only in its delta: encode the rest once
        self._head, self._tail = self._chunk(_PROBE).split(dumps(_PROBE), 1)

    def _text_chunk(self, text: str) -> bytes:
        return self._head + dumps({"content": text}) + self._tail

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return b"data: " + dumps(chunk) + b"\n\n"

    def start(self) -> bytes:
        """The role chunk (sent once, before anything else)."""
        self._started = True
        return self._chunk({"role": "assistant", "content": "", "refusal": None})

    def event(self, ev: StreamEvent) -> bytes:
        """Bytes for one canonical event (``StreamEnd`` closes the stream)."""
        head = b"" if self._started else self.start()
        if isinstance(ev, TextDelta):
            return head + (self._text_chunk(ev.text) if ev.text else b"")
        if isinstance(ev, ToolCallEvent):
            i = self._tool_index
            self._tool_index += 1
            return head + self._chunk({"tool_calls": [tool_call_json(ev.call, index=i)]})
        if isinstance(ev, StreamEnd):
            return head + self.end(ev.response)
        return head

    def end(self, resp: ChatResponse) -> bytes:
        out = self._chunk({}, finish_reason(resp.finish_reason))
        if self.include_usage:
            usage = {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "system_fingerprint": None,
                "choices": [],
                "usage": usage_json(resp),
            }
            out += b"data: " + dumps(usage) + b"\n\n"
        return out + DONE

    def error(self, exc: OffloadError) -> bytes:
        """The in-stream error event (the HTTP status is already 200 by then)."""
        status = exc.http_status if 400 <= exc.http_status < 600 else 500
        return b"data: " + dumps(error_body(exc, status)) + b"\n\n"
