"""Ollama's wire format <-> offload's canonical types. Pure functions: no I/O, no HTTP.

Reference: Ollama's REST API (``docs/api.md`` in ollama/ollama). Durations on the wire are nanoseconds;
tool calls are ``{"function": {"name": ..., "arguments": {...}}}`` with the arguments as a JSON object;
tool results are ``role: "tool"`` messages naming the tool in ``tool_name``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from offload.errors import MalformedResponse, UnsupportedContent
from offload.ids import random_hex
from offload.types import (
    ChatRequest,
    ChatResponse,
    FinishReason,
    Message,
    ModelInfo,
    PullProgress,
    Timings,
    ToolCall,
    Usage,
)

#: Keys of ``ChatRequest.options`` that are top-level fields of an Ollama request, not model options.
TOP_LEVEL_KEYS = frozenset({"keep_alive", "think", "truncate", "shift", "logprobs", "top_logprobs"})

NS = 1_000_000_000


def new_call_id() -> str:
    """An id for a tool call Ollama sent without one (older servers never send ids)."""
    return f"call_{random_hex(12)}"


def keep_alive_to_wire(value: Any) -> Any:
    """``keep_alive`` as Ollama accepts it: bare numbers are seconds, so ``"-1"`` (invalid there) becomes ``-1``."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


# -- request ----------------------------------------------------------------------------------------------
def _image_b64(part: Any) -> str:
    data = part.data
    if not data:
        raise UnsupportedContent(
            "Ollama takes images only as inline base64 data, not as URLs",
            hint="download the image and send it base64-encoded in the message",
        )
    if data.startswith("data:") and "," in data:  # tolerate data URLs
        data = data.split(",", 1)[1]
    return str(data)


def _message_to_wire(msg: Message, tool_names: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role, "content": msg.text_content}
    images = [_image_b64(p) for p in msg.images]
    if images:
        out["images"] = images
    if msg.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "function": {"name": c.name, "arguments": c.arguments}} for c in msg.tool_calls
        ]
    if msg.role == "tool":
        name = msg.name or (tool_names.get(msg.tool_call_id, "") if msg.tool_call_id else "")
        if name:
            out["tool_name"] = name
        if msg.tool_call_id:
            out["tool_call_id"] = msg.tool_call_id
        if msg.is_error and not out["content"].lower().startswith("error"):
            out["content"] = f"Error: {out['content']}"
    return out


def messages_to_wire(request: ChatRequest) -> list[dict[str, Any]]:
    """The conversation as Ollama messages: system prompt first, images as base64, tool calls and results."""
    tool_names = {c.id: c.name for m in request.messages for c in m.tool_calls}
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    out.extend(_message_to_wire(m, tool_names) for m in request.messages)
    return out


def chat_payload(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The JSON body of ``POST /api/chat`` for ``request``."""
    payload: dict[str, Any] = {"model": request.model, "messages": messages_to_wire(request), "stream": stream}
    if request.tools and request.tool_choice != "none":
        payload["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in request.tools
        ]
    fmt = request.response_format
    if fmt.type == "json_schema" and fmt.json_schema:
        payload["format"] = fmt.json_schema
    elif fmt.type in ("json", "json_schema"):
        payload["format"] = "json"
    options: dict[str, Any] = {}
    for key in ("temperature", "top_p", "top_k", "seed"):
        value = getattr(request, key)
        if value is not None:
            options[key] = value
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.stop:
        options["stop"] = list(request.stop)
    for key, value in request.options.items():
        if key == "keep_alive":
            payload[key] = keep_alive_to_wire(value)
        elif key in TOP_LEVEL_KEYS:
            payload[key] = value
        elif key == "options" and isinstance(value, dict):
            options.update(value)
        else:
            options[key] = value
    if options:
        payload["options"] = options
    return payload


# -- response ---------------------------------------------------------------------------------------------
def tool_calls_from_wire(message: dict[str, Any]) -> list[ToolCall]:
    """Canonical tool calls from an Ollama ``message`` (arguments may arrive as an object or a JSON string)."""
    calls: list[ToolCall] = []
    for raw in message.get("tool_calls") or []:
        fn = raw.get("function") if isinstance(raw, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise MalformedResponse(f"Ollama sent a tool call without a function name: {str(raw)[:200]}")
        args = fn.get("arguments") or {}
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as exc:
                raise MalformedResponse(f"tool call arguments are not JSON: {args[:200]}") from exc
        if not isinstance(args, dict):
            raise MalformedResponse(f"tool call arguments are not a JSON object: {str(args)[:200]}")
        calls.append(ToolCall(id=str(raw.get("id") or new_call_id()), name=fn["name"], arguments=args))
    return calls


def finish_reason(done_reason: str | None, has_tool_calls: bool) -> FinishReason:
    """Map Ollama's ``done_reason`` (``stop``, ``length``, ``load``, ``unload``) to a canonical finish reason."""
    if has_tool_calls:
        return "tool_calls"
    if done_reason == "length":
        return "length"
    return "stop"


def usage_from_wire(final: dict[str, Any]) -> Usage:
    """Token counts from the final chunk (``prompt_eval_count`` may be absent when the prompt was cached)."""
    return Usage(input_tokens=int(final.get("prompt_eval_count") or 0), output_tokens=int(final.get("eval_count") or 0))


def tokens_per_second(final: dict[str, Any]) -> float | None:
    """``eval_count / eval_duration * 10^9``, as Ollama's docs define it."""
    count, duration = final.get("eval_count"), final.get("eval_duration")
    if isinstance(count, int | float) and isinstance(duration, int | float) and count > 0 and duration > 0:
        return count / duration * NS
    return None


def server_ttft(final: dict[str, Any]) -> float | None:
    """Time to first token as the server reports it: model load plus prompt evaluation, in seconds."""
    parts = [final.get("load_duration"), final.get("prompt_eval_duration")]
    nums = [p for p in parts if isinstance(p, int | float)]
    return sum(nums) / NS if nums else None


def build_response(
    *,
    request: ChatRequest,
    backend: str,
    final: dict[str, Any],
    content: str,
    tool_calls: list[ToolCall],
    total_s: float,
    ttft_s: float | None,
) -> ChatResponse:
    """The canonical response from the accumulated content and the final (``done: true``) object."""
    return ChatResponse(
        id=f"ollama-{random_hex(16)}",
        model=str(final.get("model") or request.model),
        backend=backend,
        content=content,
        tool_calls=tool_calls,
        finish_reason=finish_reason(final.get("done_reason"), bool(tool_calls)),
        usage=usage_from_wire(final),
        timings=Timings(ttft_s=ttft_s, total_s=total_s, tokens_per_s=tokens_per_second(final)),
        raw=final,
    )


# -- model listings ---------------------------------------------------------------------------------------
def _details(entry: dict[str, Any]) -> dict[str, Any]:
    details = entry.get("details")
    return dict(details) if isinstance(details, dict) else {}


def model_from_tag(entry: dict[str, Any], backend: str) -> ModelInfo:
    """A ``/api/tags`` or ``/api/ps`` entry as a :class:`ModelInfo`."""
    details = _details(entry)
    extra = {k: v for k, v in details.items() if v not in (None, "", [])}
    for key in ("digest", "modified_at", "model"):
        if entry.get(key):
            extra[key] = entry[key]
    ctx = entry.get("context_length")
    return ModelInfo(
        name=str(entry.get("name") or entry.get("model") or ""),
        backend=backend,
        size_bytes=entry.get("size"),
        vram_bytes=entry.get("size_vram"),
        context_window=int(ctx) if isinstance(ctx, int) and ctx > 0 else None,
        family=details.get("family") or None,
        quantization=details.get("quantization_level") or None,
        expires_at=entry.get("expires_at"),
        details=extra,
    )


def model_from_show(name: str, body: dict[str, Any], backend: str) -> ModelInfo:
    """A ``/api/show`` answer as a :class:`ModelInfo` (context window from ``model_info``)."""
    details = _details(body)
    raw_info = body.get("model_info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    arch = info.get("general.architecture") or details.get("family")
    ctx = info.get(f"{arch}.context_length") if arch else None
    if not isinstance(ctx, int):
        ctx = next((v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)), None)
    extra = {k: v for k, v in details.items() if v not in (None, "", [])}
    for key in ("capabilities", "parameters", "modified_at"):
        if body.get(key):
            extra[key] = body[key]
    if info:
        extra["model_info"] = info
    return ModelInfo(
        name=name,
        backend=backend,
        context_window=ctx,
        family=details.get("family") or (str(arch) if arch else None),
        quantization=details.get("quantization_level") or None,
        details=extra,
    )


def pull_progress_from_wire(line: dict[str, Any]) -> PullProgress:
    """One ``/api/pull`` progress line."""
    status = line.get("status")
    if not isinstance(status, str):
        raise MalformedResponse(f"pull progress line without a status: {str(line)[:200]}")
    return PullProgress(
        status=status,
        digest=line.get("digest") or None,
        total=line.get("total"),
        completed=line.get("completed"),
    )
