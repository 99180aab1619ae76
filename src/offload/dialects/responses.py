"""OpenAI Responses API (``POST /v1/responses``) wire format <-> offload's canonical types.

The dialect of Codex CLI and of the ``openai`` SDK's ``client.responses``. Pure translation with strict
validation, like :mod:`offload.dialects.openai`; the streamed events live in
:mod:`offload.dialects.responses_stream`. Errors use the OpenAI error shape.

- ``input`` is a string or a list of items: ``message`` (roles ``user``, ``assistant``, ``system``,
  ``developer``; parts ``input_text`` / ``input_image`` / ``output_text``), ``function_call`` and
  ``function_call_output`` (also their ``custom_tool_call`` twins). Leading ``system`` / ``developer``
  messages and ``instructions`` become the system prompt. ``reasoning`` items and the history of hosted tools
  (``web_search_call`` ...) are dropped; an unknown item type is a 400.
- ``tools`` of type ``function`` map to tools; a ``namespace`` is flattened (``ns__name``, restored on the way
  out); ``custom`` (free-form) tools become functions taking one ``input`` string; hosted tools
  (``web_search``, ``file_search`` ...) are dropped, never an error: no local backend can run them.
- offload stores nothing: ``store`` is accepted and ignored, ``previous_response_id`` / ``conversation`` /
  ``background`` are refused with a hint. ``reasoning``, ``include`` and the other request fields are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offload.dialects.common import (
    history_arguments,
    json_schema_dict,
    max_tokens_field,
    opt_bool,
    opt_dict,
    opt_float,
    opt_list,
    opt_str,
    parse_data_url,
    req_str,
    tool_name,
    type_name,
)
from offload.errors import InvalidRequest, UnsupportedContent
from offload.ids import random_hex
from offload.types import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolSpec,
)

ROLES = ("user", "assistant", "system", "developer")
#: Joins a namespace and a function name into one tool name every backend accepts.
NAMESPACE_SEP = "__"
#: History items a local backend cannot use (reasoning, hosted tools' calls and results): dropped.
DROPPED_ITEMS = frozenset(
    {
        "reasoning", "compaction", "compaction_trigger", "web_search_call", "file_search_call",
        "image_generation_call", "code_interpreter_call", "computer_call", "computer_call_output",
        "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output", "apply_patch_call",
        "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "mcp_call",
        "tool_search_call", "tool_search_output", "additional_tools", "configuration_update", "program",
        "program_output",
    }
)  # fmt: skip
_TEXT_PARTS = ("input_text", "output_text", "text")
_STATELESS_HINT = "offload stores no responses: send the whole conversation in `input` (Codex does with store = false)"


@dataclass
class ResponsesRequest:
    """A parsed ``/v1/responses`` body: the canonical request plus what the answer must echo or restore."""

    chat: ChatRequest
    #: Request fields the Response object repeats (instructions, tools, tool_choice, reasoning ...).
    echo: dict[str, Any]
    #: Flattened tool name -> (namespace, name), to answer calls with their ``namespace`` again.
    namespaces: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Names of free-form (``custom``) tools, answered as ``custom_tool_call`` items.
    custom_tools: frozenset[str] = frozenset()
    #: Types of the hosted tools that were dropped (for the log).
    dropped_tools: tuple[str, ...] = ()
    #: ``max_output_tokens`` as the caller set it (a length stop is ``incomplete`` only then).
    max_output_tokens: int | None = None


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: ``resp_…``, ``msg_…``, ``fc_…``."""
    return f"{prefix}_{random_hex()}"


# -- input ---------------------------------------------------------------------------------------------------
def _image(part: dict[str, Any], pw: str) -> ImagePart:
    url = part.get("image_url")
    if url is None and part.get("file_id") is not None:
        raise UnsupportedContent(
            f"{pw}.file_id: images by file id need OpenAI's file store", hint="send the image as image_url", param=pw
        )
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"{pw}.image_url: expected a data: URL or an http(s) URL", param=f"{pw}.image_url")
    if url.startswith("data:"):
        mt, data = parse_data_url(url, f"{pw}.image_url")
        return ImagePart(media_type=mt, data=data)
    if url.startswith(("http://", "https://")):
        return ImagePart(url=url)
    raise InvalidRequest(f"{pw}.image_url: expected a data: URL or an http(s) URL", param=f"{pw}.image_url")


def _parts(content: Any, where: str, *, images: bool) -> list[ContentPart]:
    """Content parts of a message (``images``: whether ``input_image`` is allowed here)."""
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(
            f"{where}: expected a string or an array of content parts, got {type_name(content)}", param=where
        )
    out: list[ContentPart] = []
    for j, part in enumerate(content):
        pw = f"{where}[{j}]"
        if not isinstance(part, dict):
            raise InvalidRequest(f"{pw}: expected an object, got {type_name(part)}", param=pw)
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            out.append(TextPart(text=req_str(part, "text", f"{pw}.", allow_empty=True)))
        elif kind == "refusal":
            out.append(TextPart(text=req_str(part, "refusal", f"{pw}.", allow_empty=True)))
        elif kind == "input_image":
            if not images:
                raise InvalidRequest(f"{pw}: images are only allowed in user messages and tool outputs", param=pw)
            out.append(_image(part, pw))
        elif kind in ("input_file", "input_audio"):
            raise UnsupportedContent(
                f"{pw}: content parts of type {kind!r} are not supported by offload",
                hint="send text and images",
                param=pw,
            )
        else:
            raise InvalidRequest(
                f"{pw}.type: unknown content part type {kind!r}",
                hint="use 'input_text' or 'input_image' ('output_text' in assistant messages)",
                param=f"{pw}.type",
            )
    return out


def _call(item: dict[str, Any], where: str, kind: str) -> ToolCall:
    call_id = req_str(item, "call_id", f"{where}.")
    name = tool_name(item.get("name"), f"{where}.name")
    if kind == "custom_tool_call":
        return ToolCall(
            id=call_id, name=name, arguments={"input": req_str(item, "input", f"{where}.", allow_empty=True)}
        )
    ns = opt_str(item, "namespace", f"{where}.")
    if ns:
        name = tool_name(f"{ns}{NAMESPACE_SEP}{name}", f"{where}.namespace")
    raw = item.get("arguments", "")
    if isinstance(raw, dict):
        return ToolCall(id=call_id, name=name, arguments=raw)
    if not isinstance(raw, str):
        raise InvalidRequest(f"{where}.arguments: expected a JSON string", param=f"{where}.arguments")
    return ToolCall(id=call_id, name=name, arguments=history_arguments(raw))


def _message(item: dict[str, Any], where: str, out: list[Message], system: list[str]) -> None:
    role = item.get("role")
    if role not in ROLES:
        raise InvalidRequest(
            f"{where}.role: {role!r} is not a valid role", hint=f"use one of {list(ROLES)}", param=f"{where}.role"
        )
    if "content" not in item:
        raise InvalidRequest(f"{where}.content: this field is required", param=f"{where}.content")
    parts = _parts(item["content"], f"{where}.content", images=role == "user")
    if role in ("system", "developer"):
        text = "".join(p.text for p in parts if isinstance(p, TextPart))
        if not out:  # leading instructions become the system prompt
            system.append(text)
        elif text:
            out.append(Message.text("system", text))
    elif role == "assistant":
        out.append(Message(role="assistant", content=parts))
    else:
        if not parts:
            raise InvalidRequest(f"{where}.content: a user message needs content", param=f"{where}.content")
        out.append(Message(role="user", content=parts))


def parse_input(raw: Any) -> tuple[list[str], list[Message]]:
    """``input`` -> (leading system texts, conversation); strict about shape, lenient about hosted-tool history."""
    if raw is None:
        raise InvalidRequest("input: this field is required", param="input")
    if isinstance(raw, str):
        if not raw.strip():
            raise InvalidRequest("input: must not be empty", param="input")
        return [], [Message.text("user", raw)]
    if not isinstance(raw, list):
        raise InvalidRequest(f"input: expected a string or an array of items, got {type_name(raw)}", param="input")
    if not raw:
        raise InvalidRequest("input: must contain at least one item", param="input")
    system: list[str] = []
    out: list[Message] = []
    names: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where}: expected an object, got {type_name(item)}", param=where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            _message(item, where, out, system)
        elif kind in ("function_call", "custom_tool_call"):
            call = _call(item, where, kind)
            names[call.id] = call.name
            if out and out[-1].role == "assistant":  # parallel calls (and text before them) form one turn
                out[-1].tool_calls.append(call)
            else:
                out.append(Message(role="assistant", tool_calls=[call]))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = req_str(item, "call_id", f"{where}.")
            if "output" not in item:
                raise InvalidRequest(f"{where}.output: this field is required", param=f"{where}.output")
            parts = _parts(item["output"], f"{where}.output", images=True)
            out.append(Message(role="tool", content=parts, tool_call_id=call_id, name=names.get(call_id)))
        elif kind == "item_reference":
            raise InvalidRequest(f"{where}: item_reference cannot be resolved", hint=_STATELESS_HINT, param=where)
        elif kind in DROPPED_ITEMS:
            continue
        elif not isinstance(kind, str):
            raise InvalidRequest(f"{where}.type: expected a string naming the item type", param=f"{where}.type")
        else:
            raise InvalidRequest(
                f"{where}.type: unknown input item type {kind!r}",
                hint="use 'message', 'function_call' or 'function_call_output'",
                param=f"{where}.type",
            )
    if not any(m.role != "system" for m in out):
        raise InvalidRequest("input: at least one user message is required", param="input")
    return system, out


# -- tools -----------------------------------------------------------------------------------------------------
@dataclass
class _Tools:
    specs: list[ToolSpec] = field(default_factory=list)
    namespaces: dict[str, tuple[str, str]] = field(default_factory=dict)
    custom: set[str] = field(default_factory=set)
    dropped: list[str] = field(default_factory=list)


def _one_tool(t: Any, where: str, acc: _Tools, ns: tuple[str, str] | None = None) -> None:
    if not isinstance(t, dict):
        raise InvalidRequest(f"{where}: expected an object, got {type_name(t)}", param=where)
    kind = t.get("type")
    if not isinstance(kind, str):
        raise InvalidRequest(f"{where}.type: expected a string naming the tool type", param=f"{where}.type")
    if kind == "namespace" and ns is None:
        space = tool_name(t.get("name"), f"{where}.name")
        inner = opt_list(t, "tools", f"{where}.") or []
        for j, sub in enumerate(inner):
            _one_tool(sub, f"{where}.tools[{j}]", acc, (space, opt_str(t, "description", f"{where}.") or ""))
        return
    if kind not in ("function", "custom"):
        acc.dropped.append(kind)  # hosted tools (web_search, file_search ...): nothing local can run them
        return
    name = tool_name(t.get("name"), f"{where}.name")
    desc = opt_str(t, "description", f"{where}.") or ""
    if kind == "custom":
        params: dict[str, Any] = {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "the free-form input of the tool"}},
            "required": ["input"],
        }
    else:
        raw = t.get("parameters")
        params = (
            json_schema_dict(raw, f"{where}.parameters") if raw is not None else {"type": "object", "properties": {}}
        )
    if ns is not None:
        flat = tool_name(f"{ns[0]}{NAMESPACE_SEP}{name}", f"{where}.name")
        acc.namespaces[flat] = (ns[0], name)
        desc = f"{desc}\n(from {ns[0]}: {ns[1]})" if ns[1] else desc
        name = flat
    if kind == "custom":
        acc.custom.add(name)
    acc.specs.append(ToolSpec(name=name, description=desc, parameters=params))


def _tool_choice(value: Any) -> str | None:
    if value is None or value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict):
        kind = value.get("type")
        if kind in ("function", "custom"):
            return tool_name(value.get("name"), "tool_choice.name")
        if kind == "allowed_tools":
            mode = value.get("mode", "auto")
            return mode if mode in ("auto", "required") else "auto"
        if isinstance(kind, str):  # a hosted tool (web_search ...), dropped like the tool itself
            return "auto"
    raise InvalidRequest(
        "tool_choice: expected 'auto', 'none', 'required' or {type: 'function', name}", param="tool_choice"
    )


def _text_format(text: dict[str, Any] | None) -> ResponseFormat:
    fmt = opt_dict(text or {}, "format", "text.")
    if fmt is None or fmt.get("type") == "text":
        return ResponseFormat()
    kind = fmt.get("type")
    if kind == "json_object":
        return ResponseFormat(type="json")
    if kind == "json_schema":
        schema = json_schema_dict(fmt.get("schema"), "text.format.schema")
        return ResponseFormat(type="json_schema", json_schema=schema, name=opt_str(fmt, "name", "text.format."))
    raise InvalidRequest(
        f"text.format.type: {kind!r} is not supported",
        hint="use 'text', 'json_object' or 'json_schema'",
        param="text.format.type",
    )


def parse_responses_request(body: dict[str, Any]) -> ResponsesRequest:
    """Validate a ``/v1/responses`` body and translate it to a :class:`ResponsesRequest`."""
    model = req_str(body, "model")
    for key in ("previous_response_id", "conversation"):
        if body.get(key) is not None:
            raise InvalidRequest(f"{key}: offload cannot continue a stored response", hint=_STATELESS_HINT, param=key)
    if opt_bool(body, "background"):
        raise InvalidRequest(
            "background: background responses are not supported", hint="stream instead", param="background"
        )
    if body.get("prompt") is not None:
        raise InvalidRequest("prompt: stored prompt templates are not supported", hint="send the text in input")
    instructions = opt_str(body, "instructions")
    system, messages = parse_input(body.get("input"))
    acc = _Tools()
    for i, t in enumerate(opt_list(body, "tools") or []):
        _one_tool(t, f"tools[{i}]", acc)
    tool_choice = _tool_choice(body.get("tool_choice"))
    if not acc.specs:
        tool_choice = None
    text = opt_dict(body, "text")
    reasoning = opt_dict(body, "reasoning")
    include = opt_list(body, "include")
    if include is not None and not all(isinstance(x, str) for x in include):
        raise InvalidRequest("include: expected an array of strings", param="include")
    parallel = opt_bool(body, "parallel_tool_calls")
    max_out = max_tokens_field(body, "max_output_tokens")
    opt_bool(body, "store")
    metadata = opt_dict(body, "metadata")
    chat = ChatRequest(
        model=model,
        messages=messages,
        system="\n\n".join(s for s in [instructions or "", *system] if s) or None,
        tools=acc.specs,
        tool_choice=tool_choice,
        temperature=opt_float(body, "temperature", lo=0.0, hi=2.0),
        top_p=opt_float(body, "top_p", lo=0.0, hi=1.0),
        max_tokens=max_out,
        response_format=_text_format(text),
        stream=bool(opt_bool(body, "stream", default=False)),
        options={"parallel_tool_calls": parallel} if parallel is not None and acc.specs else {},
    )
    echo = {
        "instructions": instructions,
        "max_output_tokens": max_out,
        "metadata": metadata or {},
        "parallel_tool_calls": True if parallel is None else parallel,
        "reasoning": {"effort": (reasoning or {}).get("effort"), "summary": (reasoning or {}).get("summary")},
        "temperature": chat.temperature,
        "text": {"format": (text or {}).get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": chat.top_p,
    }
    return ResponsesRequest(
        chat=chat,
        echo=echo,
        namespaces=acc.namespaces,
        custom_tools=frozenset(acc.custom),
        dropped_tools=tuple(acc.dropped),
        max_output_tokens=max_out,
    )


__all__ = [
    "NAMESPACE_SEP",
    "ResponsesRequest",
    "new_id",
    "parse_input",
    "parse_responses_request",
]
