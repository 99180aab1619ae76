"""Pure request mapping for the embedded backend: canonical request -> llama.cpp chat messages, sampling
arguments and the GBNF grammar for ``response_format``. No I/O; rejects what the model cannot take."""

from __future__ import annotations

import functools
import json
from types import ModuleType
from typing import Any

from offload.errors import InvalidRequest, ModelLoadError, UnsupportedContent
from offload.types import ChatRequest

#: ``max_tokens`` when the request sets none (llama.cpp further caps it at what is left of the context).
DEFAULT_MAX_TOKENS = 512
#: llama.cpp sampling options a request may pass through ``ChatRequest.options``.
PASSTHROUGH_OPTIONS = ("repeat_penalty", "min_p", "typical_p", "presence_penalty", "frequency_penalty")
_GBNF_CACHE_SIZE = 64


def to_llama_messages(request: ChatRequest) -> list[dict[str, str]]:
    """The conversation as llama.cpp chat messages (system first); rejects what the model cannot take."""
    if request.has_images:
        raise UnsupportedContent(
            "the embedded model is text-only and cannot read images",
            hint="send image requests to a vision model (role 'vision' in offload.toml, e.g. on Ollama), "
            "or remove the images",
        )
    if request.tools and request.tool_choice not in (None, "auto", "none"):
        raise UnsupportedContent(
            "the embedded model cannot make tool calls, but the request requires one "
            f"(tool_choice={request.tool_choice!r})",
            hint="use model 'auto' so offload routes tool use to a model with tool support, or name such a model",
        )
    out: list[dict[str, str]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    for m in request.messages:
        text = m.text_content
        if m.role == "tool":
            label = m.name or m.tool_call_id or "tool"
            out.append({"role": "user", "content": f"[result of {label}{' (error)' if m.is_error else ''}]\n{text}"})
            continue
        if m.tool_calls:
            calls = "\n".join(f"[called {c.name} with {c.arguments_json()}]" for c in m.tool_calls)
            text = f"{text}\n{calls}" if text else calls
        out.append({"role": m.role, "content": text})
    if not any(m["role"] != "system" for m in out):
        raise InvalidRequest("the request has no user message", hint="add at least one user message")
    return out


def sampling_kwargs(request: ChatRequest) -> dict[str, Any]:
    """``create_chat_completion`` keyword arguments for the request's sampling settings."""
    if request.max_tokens is not None and request.max_tokens < 1:
        raise InvalidRequest(f"max_tokens must be at least 1, got {request.max_tokens}", hint="omit it or use >= 1")
    kw: dict[str, Any] = {"max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS}
    for key in ("temperature", "top_p", "top_k", "seed"):
        value = getattr(request, key)
        if value is not None:
            kw[key] = value
    if request.stop:
        kw["stop"] = list(request.stop)
    for key in PASSTHROUGH_OPTIONS:
        value = request.options.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            kw[key] = float(value)
    return kw


def runtime() -> ModuleType:
    """:mod:`offload.backends.embedded_llama`, imported on first use (it loads llama.cpp's native library)."""
    try:
        from offload.backends import embedded_llama
    except ImportError as exc:
        raise ModelLoadError(
            f"the embedded backend needs llama-cpp-python, which cannot be imported: {exc}",
            backend="embedded",
            hint="install it with 'pip install llama-cpp-python', or set defaults.embedded = false in offload.toml",
        ) from exc
    return embedded_llama


@functools.lru_cache(maxsize=_GBNF_CACHE_SIZE)
def _gbnf(kind: str, schema_json: str | None) -> str:
    gbnf: str = runtime().gbnf_for(kind, json.loads(schema_json) if schema_json else None)
    return gbnf


def grammar_text(request: ChatRequest) -> str | None:
    """The GBNF grammar enforcing ``request.response_format`` (``None`` for free text)."""
    fmt = request.response_format
    if fmt.type == "text":
        return None
    schema = json.dumps(fmt.json_schema) if fmt.type == "json_schema" and fmt.json_schema is not None else None
    return _gbnf(fmt.type, schema)


__all__ = ["DEFAULT_MAX_TOKENS", "grammar_text", "runtime", "sampling_kwargs", "to_llama_messages"]
