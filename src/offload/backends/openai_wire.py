"""OpenAI Chat Completions wire format <-> offload's canonical types (pure functions, no I/O).

Used by :class:`~offload.backends.openai_compat.OpenAICompatBackend` for OpenAI itself and for the servers that
copy its API (LM Studio, llama.cpp ``llama-server``, vLLM).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from offload.errors import MalformedResponse
from offload.types import (
    ChatRequest,
    ChatResponse,
    FinishReason,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    Usage,
    estimate_tokens,
)

#: ``options`` key whose dict is merged into the request body untouched (provider-specific parameters).
EXTRA_BODY = "extra_body"

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


_CUT_OFF = "the server may have been cut off mid-answer or does not speak this API; check its logs"


def parse_json(text: str | bytes) -> Any:
    """JSON text parsed fast (orjson); what orjson refuses goes to the standard library, which accepts a few
    more things (NaN, huge integers) or raises ``json.JSONDecodeError`` with a clearer message."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def json_object(text: str, *, backend: str, what: str, hint: str = _CUT_OFF) -> dict[str, Any]:
    """Parse ``text`` as a JSON object or raise :class:`MalformedResponse` naming ``what`` was bad."""
    try:
        value = parse_json(text)
    except json.JSONDecodeError as exc:
        raise MalformedResponse(
            f"backend {backend!r} sent {what} that is not valid JSON ({exc.msg} at char {exc.pos})",
            backend=backend,
            hint=hint,
        ) from exc
    if not isinstance(value, dict):
        raise MalformedResponse(
            f"backend {backend!r} sent {what} that is not a JSON object", backend=backend, hint=hint
        )
    return value


def parse_arguments(text: str | None, *, backend: str, tool: str) -> dict[str, Any]:
    """Tool-call arguments (a JSON string on the wire) as a dict; empty means no arguments."""
    if not text or not text.strip():
        return {}
    hint = "the model wrote malformed tool arguments; retry, or route tool use to a model that calls tools reliably"
    return json_object(text, backend=backend, what=f"arguments for tool {tool!r}", hint=hint)


# -- canonical -> wire --------------------------------------------------------------------------------------
def image_url(part: ImagePart) -> str:
    """An image as the URL OpenAI expects: the remote URL, or a ``data:`` URL built from base64 data."""
    if part.data:
        return f"data:{part.media_type};base64,{part.data}"
    return part.url or ""


def _content(message: Message) -> str | list[dict[str, Any]]:
    if not message.images:
        return message.text_content
    parts: list[dict[str, Any]] = []
    for p in message.content:
        if isinstance(p, TextPart):
            if p.text:
                parts.append({"type": "text", "text": p.text})
        else:
            parts.append({"type": "image_url", "image_url": {"url": image_url(p)}})
    return parts


def message_to_wire(message: Message) -> dict[str, Any]:
    """One canonical message as an OpenAI chat message."""
    if message.role == "tool":
        text = message.text_content
        if message.is_error and not text.lower().startswith("error"):
            text = f"Error: {text}"
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": text}
    out: dict[str, Any] = {"role": message.role}
    if message.role == "assistant":
        text = message.text_content
        out["content"] = text if (text or not message.tool_calls) else None
        if message.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json()}}
                for c in message.tool_calls
            ]
    elif message.role == "system":
        out["content"] = message.text_content
    else:
        out["content"] = _content(message)
    if message.name:
        out["name"] = message.name
    return out


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def request_to_wire(request: ChatRequest, *, stream: bool, allow_extensions: bool = True) -> dict[str, Any]:
    """The JSON body for ``POST /v1/chat/completions``.

    ``allow_extensions`` adds parameters only the local servers know (``top_k``); OpenAI itself rejects them.
    ``request.options["extra_body"]`` (a dict) is merged in last, for provider-specific parameters.
    """
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(message_to_wire(m) for m in request.messages)
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in request.tools
        ]
        if request.tool_choice:
            body["tool_choice"] = _tool_choice(request.tool_choice)
    fmt = request.response_format
    if fmt.type == "json":
        body["response_format"] = {"type": "json_object"}
    elif fmt.type == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.name or "response", "schema": fmt.json_schema or {}, "strict": True},
        }
    for key in ("max_tokens", "temperature", "top_p", "seed"):
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    if request.top_k is not None and allow_extensions:
        body["top_k"] = request.top_k
    if request.stop:
        body["stop"] = list(request.stop)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    extra = request.options.get(EXTRA_BODY)
    if isinstance(extra, dict):
        body.update(extra)
    return body


# -- wire -> canonical --------------------------------------------------------------------------------------
def finish_reason(value: str | None) -> FinishReason:
    """Map an OpenAI ``finish_reason`` onto the canonical set (unknown or missing -> ``stop``)."""
    return _FINISH.get(value or "stop", "stop")


def usage_from_wire(data: dict[str, Any] | None) -> Usage | None:
    """``{"prompt_tokens", "completion_tokens"}`` as :class:`Usage` (``None`` when the server sent none)."""
    if not isinstance(data, dict):
        return None
    return Usage(
        input_tokens=int(data.get("prompt_tokens") or 0),
        output_tokens=int(data.get("completion_tokens") or 0),
    )


def estimated_usage(request: ChatRequest, output: str) -> Usage:
    """A tokenizer-free usage estimate for servers that report none."""
    return Usage(input_tokens=estimate_tokens(request.all_text()), output_tokens=estimate_tokens(output))


def error_message(body: str) -> tuple[str | None, str | None]:
    """``(message, code-or-type)`` from an OpenAI-style error body (``{"error": {...}}``), if it is one."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, ValueError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    err = data.get("error", data)
    if isinstance(err, str):
        return err, None
    if isinstance(err, dict):
        msg = err.get("message")
        code = err.get("code") or err.get("type")
        return (str(msg) if msg else None), (str(code) if code else None)
    return None, None


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAccumulator:
    """Folds ``chat.completion.chunk`` objects into text deltas, whole tool calls, finish reason and usage.

    Tool-call fragments are gathered by ``index`` (``id`` and ``name`` arrive first, ``arguments`` in pieces)
    and handed out complete by :meth:`take_tool_calls` once the choice has finished.
    """

    backend: str
    id: str = ""
    model: str = ""
    text: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: Usage | None = None
    timings: dict[str, Any] | None = None
    _calls: dict[int, _PartialCall] = field(default_factory=dict)
    _emitted: list[ToolCall] = field(default_factory=list)

    def feed(self, chunk: dict[str, Any]) -> str:
        """Take one chunk; return the text it adds (possibly empty)."""
        self.id = self.id or str(chunk.get("id") or "")
        self.model = self.model or str(chunk.get("model") or "")
        if chunk.get("usage"):
            self.usage = usage_from_wire(chunk["usage"])
        if isinstance(chunk.get("timings"), dict):
            self.timings = chunk["timings"]
        added = ""
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                added += str(delta["content"])
            for pos, frag in enumerate(delta.get("tool_calls") or []):
                call = self._calls.setdefault(int(frag.get("index", pos)), _PartialCall())
                call.id = frag.get("id") or call.id
                fn = frag.get("function") or {}
                call.name = fn.get("name") or call.name
                if fn.get("arguments"):
                    call.arguments.append(str(fn["arguments"]))
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        if added:
            self.text.append(added)
        return added

    def take_tool_calls(self) -> list[ToolCall]:
        """The tool calls gathered so far, complete and parsed; each is returned once."""
        out = []
        for index in sorted(self._calls):
            part = self._calls.pop(index)
            call = ToolCall(
                id=part.id or f"call_{index}",
                name=part.name,
                arguments=parse_arguments("".join(part.arguments), backend=self.backend, tool=part.name),
            )
            out.append(call)
            self._emitted.append(call)
        return out

    @property
    def tool_calls(self) -> list[ToolCall]:
        return list(self._emitted)

    @property
    def content(self) -> str:
        return "".join(self.text)


def response_from_wire(data: dict[str, Any], request: ChatRequest, *, backend: str) -> ChatResponse:
    """A ``chat.completion`` object as a :class:`ChatResponse` (timings are left for the caller to fill)."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponse(
            f"backend {backend!r} answered a chat completion without choices",
            backend=backend,
            hint="check that base_url points at an OpenAI-compatible server",
        )
    message = choices[0].get("message") or {}
    content = message.get("content") or ""
    if isinstance(content, list):  # some servers return content parts even for plain text
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    calls = []
    for i, raw in enumerate(message.get("tool_calls") or []):
        fn = raw.get("function") or {}
        name = str(fn.get("name") or "")
        calls.append(
            ToolCall(
                id=str(raw.get("id") or f"call_{i}"),
                name=name,
                arguments=parse_arguments(fn.get("arguments"), backend=backend, tool=name),
            )
        )
    finish = finish_reason(choices[0].get("finish_reason"))
    if calls and finish == "stop":
        finish = "tool_calls"
    return ChatResponse(
        id=str(data.get("id") or ""),
        model=str(data.get("model") or request.model),
        backend=backend,
        content=str(content),
        tool_calls=calls,
        finish_reason=finish,
        usage=usage_from_wire(data.get("usage")) or estimated_usage(request, str(content)),
        raw=data,
    )
