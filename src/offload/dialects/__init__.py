"""Dialects: thin adapters between each provider's wire format and offload's canonical types.

``openai`` (Chat Completions), ``anthropic`` (Messages) and ``ollama`` (the Ollama API). Each module parses
with strict validation (raising :class:`~offload.errors.InvalidRequest`) and renders responses, stream
events and the :mod:`offload.errors` tree in its own shapes and status codes. Dialects never call backends.
"""

from __future__ import annotations

from typing import Any, Literal

from offload.dialects import anthropic, ollama, openai
from offload.dialects.common import dumps, loads_object
from offload.errors import OffloadError

Dialect = Literal["openai", "anthropic", "ollama"]
DIALECTS: tuple[Dialect, ...] = ("openai", "anthropic", "ollama")


def dialect_for_path(path: str) -> Dialect:
    """Which dialect a request path speaks (errors are rendered in it, even before routing)."""
    if path.startswith("/api/"):
        return "ollama"
    if path.startswith("/v1/messages") or path.startswith("/anthropic/"):
        return "anthropic"
    return "openai"


def render_error(dialect: str, exc: OffloadError) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of ``exc`` in ``dialect``'s error shape."""
    if dialect == "anthropic":
        return anthropic.render_error(exc)
    if dialect == "ollama":
        return ollama.render_error(exc)
    return openai.render_error(exc)


__all__ = ["DIALECTS", "Dialect", "dialect_for_path", "dumps", "loads_object", "render_error"]
