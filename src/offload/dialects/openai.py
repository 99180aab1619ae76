"""OpenAI Chat Completions / Embeddings / Models wire format <-> offload's canonical types.

Pure translation: parse (with strict validation) and render. Streaming chunks live in
:mod:`offload.dialects.openai_stream`. Unknown request fields are ignored; fields that would point offload at
another upstream (``api_base``, ``base_url``, ``api_key`` ...) are never honoured.
"""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

from offload.dialects.common import (
    history_arguments,
    json_schema_dict,
    max_tokens_field,
    opt_bool,
    opt_dict,
    opt_float,
    opt_int,
    opt_list,
    opt_str,
    parse_data_url,
    public_message,
    req_str,
    stop_list,
    tool_name,
    type_name,
)
from offload.errors import InvalidRequest, OffloadError, UnsupportedContent
from offload.ids import random_hex
from offload.types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    EmbedResult,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolSpec,
)
from offload.types import FinishReason as _Finish

ROLES = ("system", "developer", "user", "assistant", "tool")
#: Sampling knobs passed to backends untouched via ``ChatRequest.options``.
_PASSTHROUGH_OPTIONS = ("presence_penalty", "frequency_penalty", "logit_bias", "parallel_tool_calls")


# -- requests ------------------------------------------------------------------------------------------
def _parts(content: Any, where: str, role: str) -> list[ContentPart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(
            f"{where}.content: expected a string or an array of content parts, got {type_name(content)}",
            param=f"{where}.content",
        )
    out: list[ContentPart] = []
    for j, part in enumerate(content):
        pw = f"{where}.content[{j}]"
        if not isinstance(part, dict):
            raise InvalidRequest(f"{pw}: expected an object, got {type_name(part)}", param=pw)
        kind = part.get("type")
        if kind == "text" or kind == "refusal":
            out.append(TextPart(text=req_str(part, kind, f"{pw}.", allow_empty=True)))
        elif kind == "image_url":
            if role != "user":
                raise InvalidRequest(f"{pw}: images are only allowed in user messages", param=pw)
            img = part.get("image_url")
            url = img.get("url") if isinstance(img, dict) else img
            if not isinstance(url, str) or not url:
                raise InvalidRequest(f"{pw}.image_url.url: expected a URL string", param=f"{pw}.image_url.url")
            if url.startswith("data:"):
                mt, data = parse_data_url(url, f"{pw}.image_url.url")
                out.append(ImagePart(media_type=mt, data=data))
            elif url.startswith(("http://", "https://")):
                out.append(ImagePart(url=url))
            else:
                raise InvalidRequest(
                    f"{pw}.image_url.url: expected a data: URL or an http(s) URL", param=f"{pw}.image_url.url"
                )
        elif kind in ("input_audio", "file", "audio"):
            raise UnsupportedContent(
                f"{pw}: content parts of type {kind!r} are not supported by offload",
                hint="send text and images only",
                param=pw,
            )
        else:
            raise InvalidRequest(
                f"{pw}.type: unknown content part type {kind!r}", hint="use 'text' or 'image_url'", param=f"{pw}.type"
            )
    return out


def _tool_calls(raw: Any, where: str) -> list[ToolCall]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest(f"{where}.tool_calls: expected an array", param=f"{where}.tool_calls")
    calls = []
    for k, tc in enumerate(raw):
        tw = f"{where}.tool_calls[{k}]"
        if not isinstance(tc, dict) or not isinstance(tc.get("function"), dict):
            raise InvalidRequest(f"{tw}: expected {{id, type: 'function', function: {{name, arguments}}}}", param=tw)
        fn = tc["function"]
        args_raw = fn.get("arguments", "{}")
        args: dict[str, Any]
        if isinstance(args_raw, dict):
            args = args_raw
        elif isinstance(args_raw, str):
            args = history_arguments(args_raw)
        else:
            raise InvalidRequest(f"{tw}.function.arguments: expected a JSON string", param=f"{tw}.function.arguments")
        calls.append(
            ToolCall(
                id=opt_str(tc, "id", f"{tw}.") or f"call_{k}",
                name=req_str(fn, "name", f"{tw}.function."),
                arguments=args,
            )
        )
    return calls


def _messages(raw: Any) -> tuple[str | None, list[Message]]:
    if raw is None:
        raise InvalidRequest("messages: this field is required", param="messages")
    if not isinstance(raw, list):
        raise InvalidRequest(f"messages: expected an array, got {type_name(raw)}", param="messages")
    if not raw:
        raise InvalidRequest("messages: must contain at least one message", param="messages")
    system: list[str] = []
    out: list[Message] = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise InvalidRequest(f"{where}: expected an object, got {type_name(m)}", param=where)
        role = m.get("role")
        if role not in ROLES:
            raise InvalidRequest(
                f"{where}.role: {role!r} is not a valid role", hint=f"use one of {list(ROLES)}", param=f"{where}.role"
            )
        parts = _parts(m.get("content"), where, role)
        if role in ("system", "developer"):
            text = "".join(p.text for p in parts if isinstance(p, TextPart))
            if not out:  # leading instructions become the system prompt
                system.append(text)
            else:
                out.append(Message.text("system", text))
            continue
        if role == "tool":
            out.append(Message(role="tool", content=parts, tool_call_id=req_str(m, "tool_call_id", f"{where}.")))
            continue
        calls = _tool_calls(m.get("tool_calls"), where) if role == "assistant" else []
        if role == "user" and not parts:
            raise InvalidRequest(f"{where}.content: a user message needs content", param=f"{where}.content")
        out.append(Message(role=role, content=parts, tool_calls=calls, name=opt_str(m, "name", f"{where}.")))
    if not any(m.role != "system" for m in out):
        raise InvalidRequest("messages: at least one user message is required", param="messages")
    return ("\n\n".join(s for s in system if s) or None), out


def _tools(raw: list[Any] | None) -> list[ToolSpec]:
    out = []
    for i, t in enumerate(raw or []):
        where = f"tools[{i}]"
        if (
            not isinstance(t, dict)
            or t.get("type", "function") != "function"
            or not isinstance(t.get("function"), dict)
        ):
            raise InvalidRequest(
                f"{where}: only {{type: 'function', function: {{name, parameters}}}} tools are supported", param=where
            )
        fn = t["function"]
        params = fn.get("parameters")
        out.append(
            ToolSpec(
                name=tool_name(fn.get("name"), f"{where}.function.name"),
                description=opt_str(fn, "description", f"{where}.function.") or "",
                parameters=json_schema_dict(params, f"{where}.function.parameters")
                if params is not None
                else {"type": "object", "properties": {}},
            )
        )
    return out


def _tool_choice(value: Any) -> str | None:
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return str(value)
    if isinstance(value, dict) and isinstance(value.get("function"), dict):
        return tool_name(value["function"].get("name"), "tool_choice.function.name")
    raise InvalidRequest(
        "tool_choice: expected 'auto', 'none', 'required' or {type: 'function', function: {name}}", param="tool_choice"
    )


def _response_format(value: Any) -> ResponseFormat:
    if value is None:
        return ResponseFormat()
    if not isinstance(value, dict):
        raise InvalidRequest("response_format: expected an object", param="response_format")
    kind = value.get("type")
    if kind == "text":
        return ResponseFormat()
    if kind == "json_object":
        return ResponseFormat(type="json")
    if kind == "json_schema":
        js = value.get("json_schema")
        if not isinstance(js, dict) or not isinstance(js.get("schema", {}), dict):
            raise InvalidRequest("response_format.json_schema: expected {name, schema}", param="response_format")
        return ResponseFormat(type="json_schema", json_schema=js.get("schema") or {}, name=opt_str(js, "name"))
    raise InvalidRequest(
        f"response_format.type: {kind!r} is not supported",
        hint="use 'text', 'json_object' or 'json_schema'",
        param="response_format.type",
    )


def parse_chat_request(body: dict[str, Any]) -> ChatRequest:
    """Validate a ``/v1/chat/completions`` body and translate it to a :class:`ChatRequest`."""
    model = req_str(body, "model")
    system, messages = _messages(body.get("messages"))
    n = opt_int(body, "n", lo=1)
    if n is not None and n != 1:
        raise InvalidRequest("n: only n=1 is supported", param="n")
    max_tokens = max_tokens_field(body, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = max_tokens_field(body, "max_tokens")
    stream = bool(opt_bool(body, "stream", default=False))
    stream_options = opt_dict(body, "stream_options") or {}
    options = {k: body[k] for k in _PASSTHROUGH_OPTIONS if body.get(k) is not None}
    meta: dict[str, Any] = {}
    if stream and opt_bool(stream_options, "include_usage", "stream_options."):
        meta["include_usage"] = True
    if isinstance(body.get("user"), str):
        meta["user"] = body["user"]
    return ChatRequest(
        model=model,
        messages=messages,
        system=system,
        tools=_tools(opt_list(body, "tools")),
        tool_choice=_tool_choice(body.get("tool_choice")),
        temperature=opt_float(body, "temperature", lo=0.0, hi=2.0),
        top_p=opt_float(body, "top_p", lo=0.0, hi=1.0),
        seed=opt_int(body, "seed"),
        max_tokens=max_tokens,
        stop=stop_list(body.get("stop"), "stop"),
        response_format=_response_format(body.get("response_format")),
        stream=stream,
        options=options,
        metadata=meta,
    )


def parse_embeddings_request(body: dict[str, Any]) -> tuple[str, list[str], str]:
    """Validate a ``/v1/embeddings`` body: (model, inputs, encoding_format)."""
    model = req_str(body, "model")
    raw = body.get("input")
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(s, str) for s in raw):
        inputs = list(raw)
    else:
        raise InvalidRequest(
            "input: expected a string or a non-empty array of strings",
            hint="token-id arrays are not supported",
            param="input",
        )
    if any(not s for s in inputs):
        raise InvalidRequest("input: strings must not be empty", param="input")
    fmt = opt_str(body, "encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise InvalidRequest("encoding_format: use 'float' or 'base64'", param="encoding_format")
    return model, inputs, fmt


# -- responses ------------------------------------------------------------------------------------------
def finish_reason(reason: _Finish) -> str:
    return reason if reason in ("stop", "length", "tool_calls", "content_filter") else "stop"


def completion_id() -> str:
    return "chatcmpl-" + random_hex(24)


def tool_call_json(call: ToolCall, index: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }
    if index is not None:
        out = {"index": index, **out}
    return out


def usage_json(resp: ChatResponse) -> dict[str, int]:
    u = resp.usage
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens, "total_tokens": u.total_tokens}


def render_chat_response(resp: ChatResponse, *, created: int | None = None) -> dict[str, Any]:
    """A ``chat.completion`` object for ``resp``."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": resp.content if (resp.content or not resp.tool_calls) else None,
        "refusal": None,
    }
    if resp.tool_calls:
        message["tool_calls"] = [tool_call_json(c) for c in resp.tool_calls]
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": created or int(time.time()),
        "model": resp.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason(resp.finish_reason)}
        ],
        "usage": usage_json(resp),
        "system_fingerprint": None,
    }


def render_embeddings(res: EmbedResult, encoding_format: str = "float") -> dict[str, Any]:
    data = []
    for i, vec in enumerate(res.embeddings):
        emb: Any = vec
        if encoding_format == "base64":
            emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    u = res.usage.input_tokens
    return {"object": "list", "data": data, "model": res.model, "usage": {"prompt_tokens": u, "total_tokens": u}}


def render_models(names: list[tuple[str, str]]) -> dict[str, Any]:
    """``/v1/models`` from (model name, owner) pairs."""
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": o} for n, o in names]}


# -- errors ---------------------------------------------------------------------------------------------
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(exc: OffloadError, status: int) -> dict[str, Any]:
    """OpenAI's error object: ``{"error": {"message", "type", "param", "code"}}``."""
    param = exc.details.get("param") if isinstance(exc.details, dict) else None
    return {
        "error": {
            "message": public_message(exc),
            "type": _TYPES.get(status, "server_error"),
            "param": param,
            "code": exc.code,
        }
    }


def render_error(exc: OffloadError) -> tuple[int, dict[str, Any]]:
    status = exc.http_status if 400 <= exc.http_status < 600 else 500
    return status, error_body(exc, status)


__all__ = [
    "parse_chat_request",
    "parse_embeddings_request",
    "render_chat_response",
    "render_embeddings",
    "render_error",
    "render_models",
]
