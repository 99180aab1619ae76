"""Ollama API wire format <-> offload's canonical types (``/api/chat``, ``/api/generate``, ``/api/embed``...).

Faithful to Ollama's documented behaviour: streaming is the default; an empty ``messages`` (or ``prompt``)
means "load the model" and is answered with ``done_reason: "load"``; ``options.num_predict`` of -1
(unlimited) or -2 (fill the context) is accepted; errors are ``{"error": "..."}``. NDJSON streaming lives in
:mod:`offload.dialects.ollama_stream`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from offload.dialects.common import (
    MAX_OUTPUT_TOKENS,
    check_base64,
    json_schema_dict,
    opt_bool,
    opt_dict,
    opt_float,
    opt_int,
    opt_list,
    opt_str,
    public_message,
    req_str,
    stop_list,
    tool_name,
    type_name,
)
from offload.errors import InvalidRequest, OffloadError
from offload.types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    EmbedResult,
    ImagePart,
    Message,
    ModelInfo,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolSpec,
)

#: The Ollama API version offload answers ``/api/version`` with (clients gate features on it).
OLLAMA_COMPAT_VERSION = "0.12.0"
ROLES = ("system", "user", "assistant", "tool")
#: ``options`` keys mapped onto canonical fields; every other option is passed to the backend untouched.
_MAPPED_OPTIONS = ("temperature", "top_p", "top_k", "seed", "num_predict", "stop")


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _images(raw: Any, where: str) -> list[ContentPart]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest(f"{where}: expected an array of base64 strings", param=where)
    return [ImagePart(media_type="image/png", data=check_base64(v, f"{where}[{i}]")) for i, v in enumerate(raw)]


def _messages(raw: list[Any]) -> list[Message]:
    out: list[Message] = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise InvalidRequest(f"{where}: expected an object, got {type_name(m)}")
        role = m.get("role")
        if role not in ROLES:
            raise InvalidRequest(f"{where}.role: {role!r} is not a valid role (use one of {list(ROLES)})")
        content = m.get("content")
        if content is not None and not isinstance(content, str):
            raise InvalidRequest(f"{where}.content: expected a string, got {type_name(content)}")
        parts: list[ContentPart] = [TextPart(text=content)] if content else []
        parts += _images(m.get("images"), f"{where}.images")
        calls: list[ToolCall] = []
        for k, tc in enumerate(opt_list(m, "tool_calls", f"{where}.") or []):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("arguments", {}), dict):
                raise InvalidRequest(f"{where}.tool_calls[{k}]: expected {{function: {{name, arguments: {{...}}}}}}")
            calls.append(
                ToolCall(
                    id=opt_str(tc, "id") or f"call_{i}_{k}",
                    name=req_str(fn, "name", f"{where}."),
                    arguments=fn.get("arguments") or {},
                )
            )
        if role == "tool":
            out.append(
                Message(
                    role="tool",
                    content=parts,
                    name=opt_str(m, "tool_name"),
                    tool_call_id=opt_str(m, "tool_call_id") or opt_str(m, "tool_name") or f"tool_{i}",
                )
            )
        else:
            out.append(Message(role=role, content=parts, tool_calls=calls if role == "assistant" else []))
    return out


def _format(value: Any) -> ResponseFormat:
    if value in (None, ""):
        return ResponseFormat()
    if value == "json":
        return ResponseFormat(type="json")
    if isinstance(value, dict):
        return ResponseFormat(type="json_schema", json_schema=value)
    raise InvalidRequest('format: expected "json" or a JSON schema object')


def _tools(raw: list[Any] | None) -> list[ToolSpec]:
    out = []
    for i, t in enumerate(raw or []):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(fn, dict):
            raise InvalidRequest(f"tools[{i}]: expected {{type: 'function', function: {{name, parameters}}}}")
        params = fn.get("parameters")
        out.append(
            ToolSpec(
                name=tool_name(fn.get("name"), f"tools[{i}].function.name"),
                description=opt_str(fn, "description") or "",
                parameters=json_schema_dict(params, f"tools[{i}].function.parameters")
                if params is not None
                else {"type": "object", "properties": {}},
            )
        )
    return out


def _common(body: dict[str, Any]) -> dict[str, Any]:
    """Fields shared by chat and generate: options, format, keep_alive, stream (default true), think."""
    options = dict(opt_dict(body, "options") or {})
    num_predict = opt_int(options, "num_predict", "options.", lo=-2, hi=MAX_OUTPUT_TOKENS)
    if num_predict == 0:
        raise InvalidRequest("options.num_predict: must be positive, -1 (unlimited) or -2 (fill the context)")
    extra = {k: v for k, v in options.items() if k not in _MAPPED_OPTIONS}
    keep_alive = body.get("keep_alive")
    if keep_alive is not None:
        if isinstance(keep_alive, bool) or not isinstance(keep_alive, str | int | float):
            raise InvalidRequest('keep_alive: expected a duration string like "5m" or a number of seconds')
        extra["keep_alive"] = keep_alive
    meta: dict[str, Any] = {}
    if body.get("think") not in (None, False):
        meta["thinking"] = True
    return {
        "temperature": opt_float(options, "temperature", "options.", lo=0.0, hi=100.0),
        "top_p": opt_float(options, "top_p", "options.", lo=0.0, hi=1.0),
        "top_k": opt_int(options, "top_k", "options.", lo=0),
        "seed": opt_int(options, "seed", "options."),
        "max_tokens": num_predict if num_predict and num_predict > 0 else None,
        "stop": stop_list(options.get("stop"), "options.stop", max_items=64),
        "response_format": _format(body.get("format")),
        "stream": bool(opt_bool(body, "stream", default=True)),
        "options": extra,
        "metadata": meta,
    }


def parse_chat_request(body: dict[str, Any]) -> ChatRequest | None:
    """Validate an ``/api/chat`` body. Returns ``None`` for a load request (empty ``messages``)."""
    model = req_str(body, "model")
    raw = body.get("messages")
    if raw is not None and not isinstance(raw, list):
        raise InvalidRequest(f"messages: expected an array, got {type_name(raw)}")
    common = _common(body)
    if not raw:
        return None
    messages = _messages(raw)
    system = None
    while messages and messages[0].role == "system" and not messages[0].images:
        system = ((system + "\n\n") if system else "") + messages.pop(0).text_content
    if not messages:
        raise InvalidRequest("messages: at least one user message is required")
    return ChatRequest(model=model, messages=messages, system=system, tools=_tools(opt_list(body, "tools")), **common)


def parse_generate_request(body: dict[str, Any]) -> ChatRequest | None:
    """Validate an ``/api/generate`` body. Returns ``None`` for a load request (no prompt)."""
    model = req_str(body, "model")
    prompt = opt_str(body, "prompt")
    common = _common(body)
    images = _images(body.get("images"), "images")
    if not prompt and not images:
        return None
    suffix = opt_str(body, "suffix")
    if suffix:
        common["options"]["suffix"] = suffix
    if opt_bool(body, "raw"):
        common["options"]["raw"] = True
    parts: list[ContentPart] = [TextPart(text=prompt)] if prompt else []
    parts += images
    return ChatRequest(
        model=model, messages=[Message(role="user", content=parts)], system=opt_str(body, "system"), **common
    )


def parse_embed_request(body: dict[str, Any]) -> tuple[str, list[str]]:
    model = req_str(body, "model")
    raw = body.get("input", body.get("prompt"))
    if isinstance(raw, str):
        return model, [raw]
    if isinstance(raw, list) and raw and all(isinstance(s, str) for s in raw):
        return model, list(raw)
    raise InvalidRequest("input: expected a string or a non-empty array of strings")


def parse_model_name(body: dict[str, Any]) -> str:
    """``/api/show`` and friends: ``model`` (or the older ``name``)."""
    if isinstance(body.get("name"), str) and "model" not in body:
        return req_str(body, "name")
    return req_str(body, "model")


# -- responses ------------------------------------------------------------------------------------------
def _done_reason(resp: ChatResponse) -> str:
    return "length" if resp.finish_reason == "length" else "stop"


def stats(resp: ChatResponse) -> dict[str, Any]:
    """The final-object statistics (durations in nanoseconds)."""
    t = resp.timings
    total_ns = int(t.total_s * 1e9)
    ttft_ns = int((t.ttft_s or 0.0) * 1e9)
    return {
        "total_duration": total_ns,
        "load_duration": 0,
        "prompt_eval_count": resp.usage.input_tokens,
        "prompt_eval_duration": ttft_ns,
        "eval_count": resp.usage.output_tokens,
        "eval_duration": max(0, total_ns - ttft_ns),
    }


def tool_calls_json(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "function": {"index": i, "name": c.name, "arguments": c.arguments}} for i, c in enumerate(calls)
    ]


def render_chat(resp: ChatResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": resp.content}
    if resp.tool_calls:
        message["tool_calls"] = tool_calls_json(resp.tool_calls)
    return {
        "model": resp.model,
        "created_at": now_iso(),
        "message": message,
        "done_reason": _done_reason(resp),
        "done": True,
        **stats(resp),
    }


def render_generate(resp: ChatResponse) -> dict[str, Any]:
    return {
        "model": resp.model,
        "created_at": now_iso(),
        "response": resp.content,
        "done": True,
        "done_reason": _done_reason(resp),
        **stats(resp),
    }


def render_load(model: str, *, chat: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "created_at": now_iso()}
    if chat:
        out["message"] = {"role": "assistant", "content": ""}
    else:
        out["response"] = ""
    return out | {"done_reason": "load", "done": True}


def render_embed(res: EmbedResult, started: float) -> dict[str, Any]:
    return {
        "model": res.model,
        "embeddings": res.embeddings,
        "total_duration": int((time.perf_counter() - started) * 1e9),
        "load_duration": 0,
        "prompt_eval_count": res.usage.input_tokens,
    }


def _details(info: ModelInfo | None, family: str | None = None, quant: str | None = None) -> dict[str, Any]:
    fam = (info.family if info else None) or family or ""
    return {
        "parent_model": "",
        "format": "gguf",
        "family": fam,
        "families": [fam] if fam else None,
        "parameter_size": str((info.details.get("parameter_size") if info else "") or ""),
        "quantization_level": (info.quantization if info else None) or quant or "",
    }


def model_entry(name: str, info: ModelInfo | None = None, *, quantization: str | None = None) -> dict[str, Any]:
    """One entry of ``/api/tags``."""
    return {
        "name": name,
        "model": name,
        "modified_at": "1970-01-01T00:00:00Z",
        "size": (info.size_bytes if info else None) or 0,
        "digest": "",
        "details": _details(info, quant=quantization),
    }


def ps_entry(info: ModelInfo) -> dict[str, Any]:
    """One entry of ``/api/ps``."""
    out = model_entry(info.name, info)
    out.pop("modified_at")
    out["expires_at"] = info.expires_at or "0001-01-01T00:00:00Z"
    out["size_vram"] = info.vram_bytes or 0
    if info.context_window:
        out["context_length"] = info.context_window
    return out


def render_show(
    name: str,
    *,
    context_window: int,
    capabilities: list[str],
    family: str | None,
    quantization: str | None,
    description: str = "",
) -> dict[str, Any]:
    """``/api/show`` for an inventory model."""
    arch = family or "unknown"
    return {
        "modelfile": f"# offload inventory model {name}\n# {description}".rstrip(),
        "parameters": "",
        "template": "",
        "details": _details(None, family, quantization),
        "model_info": {"general.architecture": arch, f"{arch}.context_length": context_window},
        "capabilities": capabilities,
        "modified_at": "1970-01-01T00:00:00Z",
    }


# -- errors ---------------------------------------------------------------------------------------------
def render_error(exc: OffloadError) -> tuple[int, dict[str, Any]]:
    """Ollama's error shape: ``{"error": "message"}`` with the HTTP status."""
    status = exc.http_status if 400 <= exc.http_status < 600 else 500
    if status == 499:
        status = 400
    return status, {"error": public_message(exc)}
