"""Anthropic Messages wire format <-> offload's canonical types.

Pure translation with strict validation. What a local model cannot use is dropped from the canonical form
(thinking blocks, server tools, cache_control, the ``x-anthropic-billing-header`` system block); a request
forwarded to the cloud unchanged never goes through this translation (see ``server/passthrough.py``).
Streaming events live in :mod:`offload.dialects.anthropic_stream`.
"""

from __future__ import annotations

from typing import Any

from offload.dialects.common import (
    check_base64,
    json_schema_dict,
    max_tokens_field,
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
from offload.ids import random_hex
from offload.types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolSpec,
)

BILLING_PREFIX = "x-anthropic-billing-header:"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
#: Block types a local model cannot use; dropped from history instead of refused.
_DROPPED_BLOCKS = ("thinking", "redacted_thinking", "container_upload")


def _text_blocks(value: Any, where: str) -> list[str]:
    """``system`` / tool_result content: a string or an array of text blocks."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise InvalidRequest(
            f"{where}: expected a string or an array of text blocks, got {type_name(value)}", param=where
        )
    out = []
    for i, b in enumerate(value):
        if not isinstance(b, dict) or b.get("type") != "text":
            raise InvalidRequest(f"{where}[{i}]: expected a text block {{type: 'text', text}}", param=f"{where}[{i}]")
        out.append(req_str(b, "text", f"{where}[{i}].", allow_empty=True))
    return out


def system_text(value: Any) -> str | None:
    """The system prompt as one string, without Claude Code's per-version billing header block."""
    texts = [t for t in _text_blocks(value, "system") if not t.lstrip().startswith(BILLING_PREFIX)]
    joined = "\n\n".join(t for t in texts if t)
    return joined or None


def _image(block: dict[str, Any], where: str) -> ImagePart:
    src = block.get("source")
    if not isinstance(src, dict):
        raise InvalidRequest(f"{where}.source: expected an object", param=f"{where}.source")
    kind = src.get("type")
    if kind == "base64":
        mt = src.get("media_type")
        if mt not in IMAGE_TYPES:
            raise InvalidRequest(
                f"{where}.source.media_type: must be one of {list(IMAGE_TYPES)}", param=f"{where}.source.media_type"
            )
        return ImagePart(media_type=mt, data=check_base64(src.get("data"), f"{where}.source.data"))
    if kind == "url":
        url = req_str(src, "url", f"{where}.source.")
        if not url.startswith(("http://", "https://")):
            raise InvalidRequest(f"{where}.source.url: expected an http(s) URL", param=f"{where}.source.url")
        return ImagePart(url=url)
    raise InvalidRequest(f"{where}.source.type: expected 'base64' or 'url'", param=f"{where}.source.type")


def _tool_result(block: dict[str, Any], where: str) -> Message:
    content = block.get("content")
    parts: list[ContentPart] = []
    if isinstance(content, str):
        parts = [TextPart(text=content)] if content else []
    elif isinstance(content, list):
        for j, b in enumerate(content):
            bw = f"{where}.content[{j}]"
            if not isinstance(b, dict):
                raise InvalidRequest(f"{bw}: expected a content block", param=bw)
            if b.get("type") == "text":
                parts.append(TextPart(text=req_str(b, "text", f"{bw}.", allow_empty=True)))
            elif b.get("type") == "image":
                parts.append(_image(b, bw))
            elif b.get("type") in ("document", "search_result"):
                parts.append(TextPart(text=_document_text(b)))
            else:
                raise InvalidRequest(f"{bw}.type: {b.get('type')!r} is not allowed in a tool_result", param=bw)
    elif content is not None:
        raise InvalidRequest(f"{where}.content: expected a string or an array of blocks", param=f"{where}.content")
    return Message(
        role="tool",
        content=parts,
        tool_call_id=req_str(block, "tool_use_id", f"{where}."),
        is_error=bool(opt_bool(block, "is_error", f"{where}.", default=False)),
    )


def _document_text(block: dict[str, Any]) -> str:
    raw = block.get("source")
    src: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if src.get("type") == "text" and isinstance(src.get("data"), str):
        return src["data"]
    if block.get("type") == "search_result":
        texts = [c.get("text", "") for c in block.get("content") or [] if isinstance(c, dict)]
        return "\n".join(t for t in texts if isinstance(t, str))
    title = block.get("title") if isinstance(block.get("title"), str) else "document"
    return f"[{title}: {src.get('media_type') or src.get('type') or 'attachment'} omitted]"


def _message(m: Any, i: int) -> list[Message]:
    where = f"messages[{i}]"
    if not isinstance(m, dict):
        raise InvalidRequest(f"{where}: expected an object, got {type_name(m)}", param=where)
    role = m.get("role")
    if role not in ("user", "assistant", "system"):
        raise InvalidRequest(
            f"{where}.role: {role!r} is not a valid role",
            hint="use 'user' or 'assistant' (system prompts go in the top-level 'system')",
            param=f"{where}.role",
        )
    content = m.get("content")
    if isinstance(content, str):
        if role == "user" and not content:
            raise InvalidRequest(f"{where}.content: a user message needs content", param=f"{where}.content")
        return [Message.text(role, content)]
    if not isinstance(content, list):
        raise InvalidRequest(
            f"{where}.content: expected a string or an array of content blocks, got {type_name(content)}",
            param=f"{where}.content",
        )
    if role == "system":
        return [Message.text("system", "\n\n".join(_text_blocks(content, f"{where}.content")))]
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    results: list[Message] = []
    for j, b in enumerate(content):
        bw = f"{where}.content[{j}]"
        if not isinstance(b, dict):
            raise InvalidRequest(f"{bw}: expected a content block object, got {type_name(b)}", param=bw)
        kind = b.get("type")
        if kind == "text":
            parts.append(TextPart(text=req_str(b, "text", f"{bw}.", allow_empty=True)))
        elif kind == "image":
            if role != "user":
                raise InvalidRequest(f"{bw}: images are only allowed in user messages", param=bw)
            parts.append(_image(b, bw))
        elif kind == "tool_use" and role == "assistant":
            inp = b.get("input", {})
            if not isinstance(inp, dict):
                raise InvalidRequest(f"{bw}.input: expected an object", param=f"{bw}.input")
            calls.append(ToolCall(id=req_str(b, "id", f"{bw}."), name=req_str(b, "name", f"{bw}."), arguments=inp))
        elif kind == "tool_result" and role == "user":
            results.append(_tool_result(b, bw))
        elif kind in ("document", "search_result"):
            parts.append(TextPart(text=_document_text(b)))
        elif kind in _DROPPED_BLOCKS or (isinstance(kind, str) and kind.endswith(("_tool_use", "_tool_result"))):
            continue
        else:
            raise InvalidRequest(
                f"{bw}.type: {kind!r} is not a valid content block for a {role} message", param=f"{bw}.type"
            )
    out = list(results)
    if parts or calls or not results:
        if role == "user" and not parts and not results:
            raise InvalidRequest(f"{where}.content: a user message needs content", param=f"{where}.content")
        out.append(Message(role=role, content=parts, tool_calls=calls))
    return out


def _tools(raw: list[Any] | None) -> tuple[list[ToolSpec], list[str]]:
    """Custom tools become ToolSpecs; server tools (web_search, bash, ...) are listed by type and dropped."""
    specs: list[ToolSpec] = []
    server: list[str] = []
    for i, t in enumerate(raw or []):
        where = f"tools[{i}]"
        if not isinstance(t, dict):
            raise InvalidRequest(f"{where}: expected an object", param=where)
        kind = t.get("type")
        if kind not in (None, "custom"):
            if not isinstance(kind, str):
                raise InvalidRequest(f"{where}.type: expected a string", param=f"{where}.type")
            server.append(kind)
            continue
        schema = t.get("input_schema")
        specs.append(
            ToolSpec(
                name=tool_name(t.get("name"), f"{where}.name"),
                description=opt_str(t, "description", f"{where}.") or "",
                parameters=json_schema_dict(schema, f"{where}.input_schema"),
            )
        )
    return specs, server


def _tool_choice(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequest("tool_choice: expected an object like {type: 'auto'}", param="tool_choice")
    kind = value.get("type")
    if kind in ("auto", "none"):
        return str(kind)
    if kind == "any":
        return "required"
    if kind == "tool":
        return tool_name(value.get("name"), "tool_choice.name")
    raise InvalidRequest("tool_choice.type: expected 'auto', 'any', 'tool' or 'none'", param="tool_choice.type")


def _format(body: dict[str, Any]) -> ResponseFormat:
    """``output_config.format`` (or the older top-level ``output_format``) -> a JSON-schema response format."""
    oc = opt_dict(body, "output_config") or {}
    fmt = oc.get("format") if oc.get("format") is not None else body.get("output_format")
    if fmt is None:
        return ResponseFormat()
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise InvalidRequest(
            "output_config.format: expected {type: 'json_schema', schema: {...}}", param="output_config.format"
        )
    return ResponseFormat(
        type="json_schema", json_schema=json_schema_dict(fmt.get("schema"), "output_config.format.schema")
    )


def parse_messages_request(body: dict[str, Any], *, for_count: bool = False) -> ChatRequest:
    """Validate a ``/v1/messages`` body (or a ``count_tokens`` one) and translate it to a :class:`ChatRequest`."""
    model = req_str(body, "model")
    raw = body.get("messages")
    if not isinstance(raw, list):
        raise InvalidRequest(f"messages: expected an array, got {type_name(raw)}", param="messages")
    if not raw:
        raise InvalidRequest("messages: must contain at least one message", param="messages")
    messages: list[Message] = []
    for i, m in enumerate(raw):
        messages.extend(_message(m, i))
    max_tokens = max_tokens_field(body, "max_tokens", required=not for_count)
    tools, server_tools = _tools(opt_list(body, "tools"))
    thinking = opt_dict(body, "thinking")
    if thinking is not None and thinking.get("type") not in ("enabled", "disabled", "adaptive"):
        raise InvalidRequest("thinking.type: expected 'enabled', 'adaptive' or 'disabled'", param="thinking.type")
    meta: dict[str, Any] = {}
    if thinking and thinking.get("type") in ("enabled", "adaptive"):
        meta["thinking"] = True
    if server_tools:
        meta["server_tools"] = ",".join(server_tools)
    if isinstance(body.get("tools"), list):
        meta["tools_sent"] = len(body["tools"])
    return ChatRequest(
        model=model,
        messages=messages,
        system=system_text(body.get("system")),
        tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice")),
        temperature=opt_float(body, "temperature", lo=0.0, hi=1.0),
        top_p=opt_float(body, "top_p", lo=0.0, hi=1.0),
        top_k=opt_int(body, "top_k", lo=0),
        max_tokens=max_tokens,
        stop=stop_list(body.get("stop_sequences"), "stop_sequences", max_items=64),
        response_format=_format(body),
        stream=bool(opt_bool(body, "stream", default=False)),
        metadata=meta,
    )


# -- responses ------------------------------------------------------------------------------------------
_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def stop_reason(resp: ChatResponse) -> str:
    return _STOP.get(resp.finish_reason, "end_turn")


def message_id() -> str:
    return "msg_" + random_hex(24)


def usage_json(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def render_message(resp: ChatResponse) -> dict[str, Any]:
    """A ``message`` object for ``resp``."""
    content: list[dict[str, Any]] = []
    if resp.content or not resp.tool_calls:
        content.append({"type": "text", "text": resp.content})
    for c in resp.tool_calls:
        content.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": content,
        "stop_reason": stop_reason(resp),
        "stop_sequence": None,
        "usage": usage_json(resp.usage.input_tokens, resp.usage.output_tokens),
    }


def render_models(names: list[str]) -> dict[str, Any]:
    """``GET /v1/models`` in Anthropic's shape (sent when the caller speaks Anthropic)."""
    data = [{"type": "model", "id": n, "display_name": n, "created_at": "1970-01-01T00:00:00Z"} for n in names]
    return {
        "data": data,
        "has_more": False,
        "first_id": names[0] if names else None,
        "last_id": names[-1] if names else None,
    }


# -- errors ---------------------------------------------------------------------------------------------
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error_status(exc: OffloadError) -> int:
    """Anthropic's status for an offload error: unavailability is 529 ``overloaded_error`` (clients retry it)."""
    status = exc.http_status if 400 <= exc.http_status < 600 else 500
    if status == 503:
        return 529
    if status == 499:
        return 400
    return status


def error_body(exc: OffloadError, status: int) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": _TYPES.get(status, "api_error"), "message": public_message(exc)},
        "request_id": "req_offload_" + random_hex(20),
    }


def render_error(exc: OffloadError) -> tuple[int, dict[str, Any]]:
    status = error_status(exc)
    return status, error_body(exc, status)
