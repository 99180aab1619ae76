"""The one small contract every backend implements, plus capability flags as data.

A backend turns canonical :class:`~offload.types.ChatRequest` objects into answers. It never reads the
config file (it is given a :class:`~offload.config.BackendConfig`), never knows about gateway dialects,
and maps every third-party exception into :mod:`offload.errors` at its boundary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from offload.types import (
    ChatRequest,
    ChatResponse,
    EmbedResult,
    HealthStatus,
    ModelInfo,
    PullProgress,
    StreamEvent,
)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, as data (callers check flags, never ``isinstance``)."""

    chat: bool = True
    stream: bool = True
    embed: bool = False
    tools: bool = True
    vision: bool = True
    json_schema: bool = True
    #: Model operations (Ollama-style): pull, ps, show, load/unload via keep_alive.
    pull: bool = False
    ps: bool = False
    keep_alive: bool = False
    count_tokens: bool = False
    #: True for paid cloud APIs (used by routing and the savings ledger).
    cloud: bool = False


@runtime_checkable
class Backend(Protocol):
    """The backend contract. All methods are async; ``stream`` is an async generator."""

    name: str
    kind: str
    capabilities: Capabilities

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer ``request`` (``request.model`` is the backend's own model name)."""
        ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield text deltas and tool calls as they come, ending with exactly one ``StreamEnd``."""
        ...

    async def embed(self, model: str, inputs: list[str]) -> EmbedResult:
        """Embed ``inputs`` (raise :class:`~offload.errors.InvalidRequest` when unsupported)."""
        ...

    async def list_models(self) -> list[ModelInfo]:
        """Models the backend serves."""
        ...

    async def health(self) -> HealthStatus:
        """A cheap reachability check with a fix hint when it fails. Never raises."""
        ...

    async def aclose(self) -> None:
        """Release connections / models."""
        ...


@runtime_checkable
class ModelOps(Protocol):
    """Optional model operations for backends whose capabilities say ``pull``/``ps``/``keep_alive``."""

    def pull(self, model: str) -> AsyncIterator[PullProgress]: ...

    async def ps(self) -> list[ModelInfo]: ...

    async def show(self, model: str) -> ModelInfo: ...

    async def load(self, model: str, keep_alive: str | int | None = None) -> None: ...

    async def unload(self, model: str) -> None: ...
