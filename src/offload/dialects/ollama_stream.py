"""Ollama streaming: canonical stream events -> NDJSON lines (``application/x-ndjson``).

Each line is one JSON object with ``done: false`` and a piece of ``message.content`` (``/api/chat``) or
``response`` (``/api/generate``); tool calls arrive in a line of their own; the last line has ``done: true``,
``done_reason`` and the statistics. An upstream failure mid-stream is a final ``{"error": "..."}`` line,
which the Ollama clients raise as ``ResponseError``.
"""

from __future__ import annotations

from typing import Any

from offload.dialects.common import dumps
from offload.dialects.ollama import now_iso, render_chat, render_error, render_generate, tool_calls_json
from offload.errors import OffloadError
from offload.types import ChatResponse, StreamEnd, StreamEvent, TextDelta, ToolCallEvent

MEDIA_TYPE = "application/x-ndjson"


class OllamaStreamEncoder:
    """Turns canonical stream events into NDJSON bytes for one ``/api/chat`` or ``/api/generate`` response."""

    media_type = MEDIA_TYPE

    def __init__(self, model: str, *, chat: bool) -> None:
        self.model = model
        self.chat = chat

    def _line(self, obj: dict[str, Any]) -> bytes:
        return dumps(obj) + b"\n"

    def start(self) -> bytes:
        return b""

    def event(self, ev: StreamEvent) -> bytes:
        if isinstance(ev, TextDelta):
            if not ev.text:
                return b""
            if self.chat:
                return self._line(
                    {
                        "model": self.model,
                        "created_at": now_iso(),
                        "message": {"role": "assistant", "content": ev.text},
                        "done": False,
                    }
                )
            return self._line({"model": self.model, "created_at": now_iso(), "response": ev.text, "done": False})
        if isinstance(ev, ToolCallEvent) and self.chat:
            return self._line(
                {
                    "model": self.model,
                    "created_at": now_iso(),
                    "message": {"role": "assistant", "content": "", "tool_calls": tool_calls_json([ev.call])},
                    "done": False,
                }
            )
        if isinstance(ev, StreamEnd):
            return self.end(ev.response)
        return b""

    def end(self, resp: ChatResponse) -> bytes:
        final = render_chat(resp) if self.chat else render_generate(resp)
        if self.chat:
            final["message"] = {"role": "assistant", "content": ""}
        else:
            final["response"] = ""
        return self._line(final)

    def error(self, exc: OffloadError) -> bytes:
        return self._line(render_error(exc)[1])
