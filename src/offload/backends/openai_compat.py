"""The OpenAI-compatible backend: one adapter for OpenAI, LM Studio, llama.cpp ``llama-server`` and vLLM.

Speaks ``POST /v1/chat/completions`` (plain and SSE with ``stream_options.include_usage``), ``GET /v1/models``
and ``POST /v1/embeddings``. ``base_url`` may end in ``/v1`` or not. The key (if any) is read from the
environment variable the config names and sent as ``Authorization: Bearer``.

The plumbing it shares with the Anthropic backend lives in :mod:`offload.backends.provider`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from offload.backends.base import Capabilities
from offload.backends.openai_wire import (
    StreamAccumulator,
    estimated_usage,
    finish_reason,
    json_object,
    request_to_wire,
    response_from_wire,
)
from offload.backends.provider import ProviderHTTPBackend, timings
from offload.backends.sse import aiter_sse
from offload.backends.transport import TransportError
from offload.errors import MalformedResponse, UpstreamHTTPError
from offload.redact import default_redactor
from offload.types import (
    ChatRequest,
    ChatResponse,
    EmbedResult,
    ModelInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
    Usage,
)


class OpenAICompatBackend(ProviderHTTPBackend):
    """Backend for any server speaking the OpenAI Chat Completions API."""

    kind = "openai_compat"
    forward_headers = frozenset({"content-type", "accept", "openai-beta"})

    def make_capabilities(self) -> Capabilities:
        return Capabilities(embed=True, cloud=self.config.is_cloud)

    def auth_headers(self) -> dict[str, str]:
        key = self._key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        return request_to_wire(request, stream=stream, allow_extensions=not self.config.is_cloud)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """One non-streaming chat completion."""
        started = time.perf_counter()
        try:
            resp = await self.request(
                "POST",
                self.api_path("chat/completions"),
                json=self._body(request, stream=False),
                headers=self.auth_headers(),
            )
        except UpstreamHTTPError as exc:
            self._model_hint(exc, request.model)
            raise
        out = response_from_wire(self.decode(resp, "a chat completion"), request, backend=self.name)
        reported = (out.raw or {}).get("timings") or {}
        out.timings = timings(started, None, out.usage.output_tokens, reported.get("predicted_per_second"))
        return out

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream a chat completion: text deltas, complete tool calls, then one :class:`StreamEnd`."""
        started = time.perf_counter()
        ttft: float | None = None
        acc = StreamAccumulator(backend=self.name)
        done = False
        try:
            async with self.stream_request(
                "POST",
                self.api_path("chat/completions"),
                json=self._body(request, stream=True),
                headers=self.auth_headers(),
            ) as resp:
                try:
                    async for events in aiter_sse(resp.aiter_bytes()):
                        for event in events:
                            data = event.data.strip()
                            if data == "[DONE]":
                                done = True
                                break
                            if not data:
                                continue
                            chunk = json_object(data, backend=self.name, what="a stream chunk")
                            if chunk.get("error") or chunk.get("object") == "error":
                                raise self._stream_error(chunk)
                            text = acc.feed(chunk)
                            if text:
                                ttft = ttft if ttft is not None else time.perf_counter() - started
                                yield TextDelta(text=text)
                            if acc.finish:
                                for call in acc.take_tool_calls():
                                    ttft = ttft if ttft is not None else time.perf_counter() - started
                                    yield ToolCallEvent(call=call)
                        if done:
                            break
                except TransportError as exc:
                    raise self.mid_stream_error(exc) from exc
        except UpstreamHTTPError as exc:
            self._model_hint(exc, request.model)
            raise
        if not done and acc.finish is None:
            raise self.truncated("its final chunk and [DONE]")
        for call in acc.take_tool_calls():
            yield ToolCallEvent(call=call)
        calls = acc.tool_calls
        finish = finish_reason(acc.finish)
        if calls and finish == "stop":
            finish = "tool_calls"
        usage = acc.usage or estimated_usage(request, acc.content)
        reported = acc.timings or {}
        yield StreamEnd(
            response=ChatResponse(
                id=acc.id,
                model=acc.model or request.model,
                backend=self.name,
                content=acc.content,
                tool_calls=calls,
                finish_reason=finish,
                usage=usage,
                timings=timings(started, ttft, usage.output_tokens, reported.get("predicted_per_second")),
            )
        )

    def _stream_error(self, chunk: dict[str, Any]) -> UpstreamHTTPError:
        inner = chunk.get("error")
        err: dict[str, Any] = inner if isinstance(inner, dict) else chunk
        code = err.get("code")
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        msg = default_redactor().text(str(err.get("message") or err))[:300]
        return UpstreamHTTPError(
            f"backend {self.name!r} reported an error mid-stream: {msg}",
            status=status,
            body=default_redactor().text(str(chunk))[:2000],
            backend=self.name,
            hint="the answer was cut short by the server; retry or check its logs",
        )

    async def embed(self, model: str, inputs: list[str]) -> EmbedResult:
        """``POST /v1/embeddings`` for ``inputs`` (vectors returned in input order)."""
        try:
            resp = await self.request(
                "POST",
                self.api_path("embeddings"),
                json={"model": model, "input": inputs, "encoding_format": "float"},
                headers=self.auth_headers(),
            )
        except UpstreamHTTPError as exc:
            self._model_hint(exc, model)
            raise
        data = self.decode(resp, "an embeddings answer")
        rows = data.get("data")
        if not isinstance(rows, list) or len(rows) != len(inputs):
            raise MalformedResponse(
                f"backend {self.name!r} returned {len(rows) if isinstance(rows, list) else 'no'} embeddings "
                f"for {len(inputs)} inputs",
                backend=self.name,
                hint=f"check that {model!r} is an embedding model",
            )
        rows = sorted(rows, key=lambda r: int(r.get("index", 0)))
        usage = data.get("usage") or {}
        return EmbedResult(
            model=str(data.get("model") or model),
            embeddings=[[float(x) for x in r.get("embedding") or []] for r in rows],
            usage=Usage(input_tokens=int(usage.get("prompt_tokens") or 0)),
        )

    async def list_models(self) -> list[ModelInfo]:
        """``GET /v1/models``."""
        resp = await self.request("GET", self.api_path("models"), headers=self.auth_headers())
        data = self.decode(resp, "the model list")
        out = []
        for row in data.get("data") or []:
            if isinstance(row, dict) and row.get("id"):
                details = {k: v for k, v in row.items() if k not in ("id", "object")}
                out.append(ModelInfo(name=str(row["id"]), backend=self.name, details=details))
        return out


__all__ = ["OpenAICompatBackend", "ProviderHTTPBackend", "timings"]
