"""Backends: one module per kind, all behind :class:`offload.backends.base.Backend`."""

from __future__ import annotations

from typing import Any

from offload.backends.base import Backend, Capabilities, ModelOps
from offload.config import BackendConfig
from offload.errors import ConfigError


def create_backend(config: BackendConfig, **kw: Any) -> Backend:
    """Build the backend for ``config`` (modules are imported lazily, so llama.cpp loads only when used)."""
    kind = config.kind
    if kind == "ollama":
        from offload.backends.ollama import OllamaBackend

        return OllamaBackend(config, **kw)
    if kind == "openai_compat":
        from offload.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(config, **kw)
    if kind == "anthropic":
        from offload.backends.anthropic import AnthropicBackend

        return AnthropicBackend(config, **kw)
    if kind == "embedded":
        from offload.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(config, **kw)
    if kind == "scripted":
        from offload.backends.scripted import ScriptedBackend

        if config.script:
            return ScriptedBackend.from_file(config.name, config.script)
        return ScriptedBackend(config.name, default="(scripted answer)")
    raise ConfigError(f"unknown backend kind {kind!r}", key=f"backends.{config.name}.kind")


__all__ = ["Backend", "Capabilities", "ModelOps", "create_backend"]
