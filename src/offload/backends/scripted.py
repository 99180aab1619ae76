"""A scripted backend: a test double shipped in the package, for offload's tests and for yours.

Queue answers (text, full responses, tool calls), errors and delays; it answers in order and records every
request it received::

    sb = ScriptedBackend()
    sb.add("def f(): return 1")
    sb.add_error(BackendUnavailable("down"))
    sb.add("ok", delay=0.5)

When the queue is empty it uses ``responder`` (a function of the request) if given, else repeats
``default`` if given, else raises :class:`~offload.errors.BackendUnavailable`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offload.backends.base import Capabilities
from offload.errors import BackendUnavailable, Cancelled, OffloadError
from offload.ids import random_hex
from offload.types import (
    ChatRequest,
    ChatResponse,
    EmbedResult,
    HealthStatus,
    ModelInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Timings,
    ToolCall,
    ToolCallEvent,
    Usage,
    estimate_tokens,
)

Answer = str | ChatResponse | OffloadError | Exception


@dataclass
class _Step:
    answer: Answer
    delay: float = 0.0
    chunk_delay: float = 0.0
    tool_calls: list[ToolCall] = field(default_factory=list)


class ScriptedBackend:
    """Answers from a queue; records requests. Safe to share between concurrent tasks."""

    kind = "scripted"

    def __init__(
        self,
        name: str = "scripted",
        answers: list[Answer] | None = None,
        *,
        default: str | None = None,
        responder: Callable[[ChatRequest], Answer] | None = None,
        models: list[str] | None = None,
        healthy: bool = True,
        chunk_size: int = 4,
        cloud: bool = False,
    ) -> None:
        self.name = name
        self.capabilities = Capabilities(embed=True, cloud=cloud, count_tokens=True)
        self._queue: deque[_Step] = deque(_Step(a) for a in (answers or []))
        self.default = default
        self.responder = responder
        self.models = models or ["scripted"]
        self.healthy = healthy
        self.chunk_size = chunk_size
        self.requests: list[ChatRequest] = []
        self.cancelled = 0

    @classmethod
    def from_file(cls, name: str, path: str | Path) -> ScriptedBackend:
        """Load ``{"answers": [...], "default": "...", "models": [...]}`` from a JSON file."""
        data = json.loads(Path(path).read_text())
        answers: list[Answer] = []
        for a in data.get("answers", []):
            if isinstance(a, dict) and "error" in a:
                answers.append(BackendUnavailable(a["error"], backend=name))
            else:
                answers.append(str(a))
        return cls(name, answers, default=data.get("default"), models=data.get("models"))

    # -- scripting ------------------------------------------------------------------------------------
    def add(
        self, answer: Answer, *, delay: float = 0.0, chunk_delay: float = 0.0, tool_calls: list[ToolCall] | None = None
    ) -> ScriptedBackend:
        self._queue.append(_Step(answer, delay, chunk_delay, list(tool_calls or [])))
        return self

    def add_error(self, error: Exception, *, delay: float = 0.0) -> ScriptedBackend:
        return self.add(error, delay=delay)

    def add_tool_call(self, name: str, arguments: dict[str, Any], text: str = "") -> ScriptedBackend:
        call = ToolCall(id=f"call_{random_hex(12)}", name=name, arguments=arguments)
        return self.add(text, tool_calls=[call])

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _next(self, request: ChatRequest) -> _Step:
        self.requests.append(request)
        if not self.healthy:
            return _Step(BackendUnavailable(f"backend {self.name!r} is down (scripted)", backend=self.name))
        if self._queue:
            return self._queue.popleft()
        if self.responder is not None:
            return _Step(self.responder(request))
        if self.default is not None:
            return _Step(self.default)
        return _Step(BackendUnavailable(f"scripted backend {self.name!r} has no answers left", backend=self.name))

    def _response(self, request: ChatRequest, step: _Step, started: float, ttft: float | None) -> ChatResponse:
        ans = step.answer
        if isinstance(ans, ChatResponse):
            return ans
        text = str(ans)
        out_tokens = estimate_tokens(text) if text else 0
        total = time.perf_counter() - started
        return ChatResponse(
            id=f"scripted-{random_hex(12)}",
            model=request.model,
            backend=self.name,
            content=text,
            tool_calls=step.tool_calls,
            finish_reason="tool_calls" if step.tool_calls else "stop",
            usage=Usage(input_tokens=estimate_tokens(request.all_text()), output_tokens=out_tokens),
            timings=Timings(
                ttft_s=ttft if ttft is not None else total,
                total_s=total,
                tokens_per_s=(out_tokens / total) if total > 0 and out_tokens else None,
            ),
        )

    # -- Backend protocol ---------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        step = self._next(request)
        if step.delay:
            await asyncio.sleep(step.delay)
        if isinstance(step.answer, Exception):
            raise step.answer
        return self._response(request, step, started, None)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        step = self._next(request)
        if step.delay:
            await asyncio.sleep(step.delay)
        if isinstance(step.answer, Exception):
            raise step.answer
        text = step.answer.content if isinstance(step.answer, ChatResponse) else str(step.answer)
        ttft = None
        try:
            for i in range(0, len(text), self.chunk_size):
                if step.chunk_delay:
                    await asyncio.sleep(step.chunk_delay)
                if ttft is None:
                    ttft = time.perf_counter() - started
                yield TextDelta(text=text[i : i + self.chunk_size])
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise
        calls = step.tool_calls or (step.answer.tool_calls if isinstance(step.answer, ChatResponse) else [])
        for call in calls:
            yield ToolCallEvent(call=call)
        yield StreamEnd(response=self._response(request, step, started, ttft))

    async def embed(self, model: str, inputs: list[str]) -> EmbedResult:
        vecs = []
        for text in inputs:
            h = [0.0] * 8
            for i, ch in enumerate(text.encode()):
                h[i % 8] += ch / 255.0
            vecs.append(h)
        return EmbedResult(
            model=model, embeddings=vecs, usage=Usage(input_tokens=sum(estimate_tokens(t) for t in inputs))
        )

    async def list_models(self) -> list[ModelInfo]:
        if not self.healthy:
            raise BackendUnavailable(f"backend {self.name!r} is down (scripted)", backend=self.name)
        return [ModelInfo(name=m, backend=self.name) for m in self.models]

    async def health(self) -> HealthStatus:
        return HealthStatus(
            backend=self.name,
            ok=self.healthy,
            latency_s=0.0,
            detail="scripted" if self.healthy else "scripted backend marked down",
            hint=None if self.healthy else "this is a test double; set healthy=True",
        )

    async def aclose(self) -> None:
        return None


__all__ = ["ScriptedBackend", "Cancelled"]
