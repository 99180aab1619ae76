"""Anthropic Messages API wire format <-> offload's canonical types (pure functions, no I/O).

Reference: Anthropic's Messages API (``POST /v1/messages``), its streaming guide (``message_start``,
``content_block_start`` / ``_delta`` / ``_stop``, ``message_delta``, ``message_stop``, ``ping``, ``error``) and
``POST /v1/messages/count_tokens``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from offload.backends.openai_wire import EXTRA_BODY, parse_arguments
from offload.types import (
    ChatRequest,
    ChatResponse,
    FinishReason,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    Usage,
)

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

#: HTTP status Anthropic documents for each error type (used for ``error`` events inside a 200 stream).
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_JSON_INSTRUCTION = "Respond with a single JSON object and nothing else: no prose, no code fences."


# -- canonical -> wire --------------------------------------------------------------------------------------
def image_block(part: ImagePart) -> dict[str, Any]:
    """An image as an Anthropic ``image`` block (base64 source, or URL source for remote images)."""
    data = part.data
    media_type = part.media_type
    if not data and part.url and part.url.startswith("data:") and "," in part.url:
        head, data = part.url.split(",", 1)
        media_type = head[5:].split(";", 1)[0] or media_type
    if data:
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": part.url or ""}}


def _blocks(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in message.content:
        if isinstance(p, TextPart):
            if p.text:  # the API rejects empty text blocks
                out.append({"type": "text", "text": p.text})
        else:
            out.append(image_block(p))
    return out


def _tool_result(message: Message) -> dict[str, Any]:
    content: str | list[dict[str, Any]] = _blocks(message) if message.images else message.text_content
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": content}
    if message.is_error:
        block["is_error"] = True
    return block


def messages_to_wire(messages: list[Message]) -> tuple[list[str], list[dict[str, Any]]]:
    """``(system texts, messages)``: system-role messages lifted out, tool results folded into user turns,
    consecutive same-role turns merged (``tool_result`` blocks first, as the API requires), empty turns dropped.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            if m.text_content:
                system.append(m.text_content)
            continue
        if m.role == "tool":
            role, blocks = "user", [_tool_result(m)]
        else:
            role, blocks = m.role, _blocks(m)
            if m.role == "assistant":
                blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for turn in out:
        if turn["role"] == "user":
            turn["content"].sort(key=lambda b: b["type"] != "tool_result")  # stable: results first
    return system, out


def _tool_choice(choice: str) -> dict[str, Any]:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    return {"type": "tool", "name": choice}


def _system(request: ChatRequest, lifted: list[str]) -> str:
    parts = ([request.system] if request.system else []) + lifted
    fmt = request.response_format
    if fmt.type == "json":
        parts.append(_JSON_INSTRUCTION)
    elif fmt.type == "json_schema":
        schema = json.dumps(fmt.json_schema or {}, ensure_ascii=False)
        parts.append(f"{_JSON_INSTRUCTION} It must be valid against this JSON Schema:\n{schema}")
    return "\n\n".join(p for p in parts if p)


def count_tokens_body(request: ChatRequest) -> dict[str, Any]:
    """The body for ``POST /v1/messages/count_tokens`` (model, messages, system, tools)."""
    lifted, messages = messages_to_wire(request.messages)
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    system = _system(request, lifted)
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
        ]
        if request.tool_choice:
            body["tool_choice"] = _tool_choice(request.tool_choice)
    return body


def request_to_wire(
    request: ChatRequest, *, stream: bool, default_max_tokens: int = DEFAULT_MAX_TOKENS
) -> dict[str, Any]:
    """The JSON body for ``POST /v1/messages``.

    JSON answers are asked for in the system prompt (the cascade's verifiers check them);
    ``request.options["extra_body"]`` (a dict, e.g. ``{"thinking": {...}}``) is merged in last.
    """
    body = count_tokens_body(request)
    body["max_tokens"] = request.max_tokens or default_max_tokens
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    for key in ("temperature", "top_p", "top_k"):
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    if stream:
        body["stream"] = True
    extra = request.options.get(EXTRA_BODY)
    if isinstance(extra, dict):
        body.update(extra)
    return body


# -- wire -> canonical --------------------------------------------------------------------------------------
def usage_from_wire(data: Any) -> Usage:
    """Anthropic ``usage`` as :class:`Usage`; cache writes and reads count as input."""
    if not isinstance(data, dict):
        return Usage()
    inp = sum(int(data.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    return Usage(input_tokens=inp, output_tokens=int(data.get("output_tokens") or 0))


def stop_reason(value: str | None) -> FinishReason:
    return STOP_REASONS.get(value or "end_turn", "stop")


def response_from_wire(data: dict[str, Any], request: ChatRequest, *, backend: str) -> ChatResponse:
    """A ``message`` object as a :class:`ChatResponse` (thinking blocks are not part of the content)."""
    text: list[str] = []
    calls: list[ToolCall] = []
    for block in data.get("content") or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            text.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            args = block.get("input")
            if not isinstance(args, dict):
                args = parse_arguments(str(args or ""), backend=backend, tool=str(block.get("name")))
            calls.append(ToolCall(id=str(block.get("id") or ""), name=str(block.get("name") or ""), arguments=args))
    return ChatResponse(
        id=str(data.get("id") or ""),
        model=str(data.get("model") or request.model),
        backend=backend,
        content="".join(text),
        tool_calls=calls,
        finish_reason=stop_reason(data.get("stop_reason")),
        usage=usage_from_wire(data.get("usage")),
        raw=data,
    )


def error_detail(body: str) -> tuple[str | None, str | None]:
    """``(message, type)`` from ``{"type": "error", "error": {"type", "message"}}``, if the body is one."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, ValueError):
        return None, None
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return None, None
    msg, kind = err.get("message"), err.get("type")
    return (str(msg) if msg else None), (str(kind) if kind else None)


@dataclass
class _Block:
    type: str
    id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)


@dataclass
class StreamState:
    """Folds the Messages SSE events into text, whole tool calls, stop reason and (cumulative) usage."""

    backend: str
    id: str = ""
    model: str = ""
    text: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    stop: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    _blocks: dict[int, _Block] = field(default_factory=dict)

    def feed(self, event: dict[str, Any]) -> str | ToolCall | None:
        """Take one event (``ping`` and unknown types are ignored); return new text or a finished tool call."""
        kind = event.get("type")
        if kind == "message_start":
            msg = event.get("message") or {}
            self.id, self.model = str(msg.get("id") or ""), str(msg.get("model") or "")
            self.usage.update(msg.get("usage") or {})
        elif kind == "content_block_start":
            cb = event.get("content_block") or {}
            new = _Block(type=str(cb.get("type")), id=str(cb.get("id") or ""), name=str(cb.get("name") or ""))
            self._blocks[int(event.get("index", 0))] = new
            if new.type == "text" and cb.get("text"):
                self.text.append(str(cb["text"]))
                return str(cb["text"])
            if new.type == "tool_use" and cb.get("input"):
                new.parts.append(json.dumps(cb["input"]))
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            open_block = self._blocks.get(int(event.get("index", 0)))
            if delta.get("type") == "text_delta" and delta.get("text"):
                self.text.append(str(delta["text"]))
                return str(delta["text"])
            if delta.get("type") == "input_json_delta" and open_block is not None:
                open_block.parts.append(str(delta.get("partial_json") or ""))
            # thinking_delta / signature_delta / citations_delta: not part of the answer text
        elif kind == "content_block_stop":
            done = self._blocks.pop(int(event.get("index", 0)), None)
            if done is not None and done.type == "tool_use":
                args = parse_arguments("".join(done.parts), backend=self.backend, tool=done.name)
                call = ToolCall(id=done.id, name=done.name, arguments=args)
                self.tool_calls.append(call)
                return call
        elif kind == "message_delta":
            self.stop = (event.get("delta") or {}).get("stop_reason") or self.stop
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.stopped = True
        return None

    @property
    def content(self) -> str:
        return "".join(self.text)
