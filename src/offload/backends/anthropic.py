"""The Anthropic backend: the Messages API (``POST /v1/messages``, plain and SSE), token counting, model list.

Sends ``x-api-key`` (from the environment variable the config names) and ``anthropic-version: 2023-06-01``.
A stream that ends without ``message_stop`` raises :class:`~offload.errors.MalformedResponse`; an ``error``
event inside a stream raises :class:`~offload.errors.UpstreamHTTPError` with the status Anthropic documents for
that error type (e.g. 529 for ``overloaded_error``), so retry logic treats it like the same error sent as HTTP.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from offload.backends.anthropic_wire import (
    API_VERSION,
    DEFAULT_MAX_TOKENS,
    ERROR_STATUS,
    StreamState,
    count_tokens_body,
    error_detail,
    request_to_wire,
    response_from_wire,
    stop_reason,
    usage_from_wire,
)
from offload.backends.base import Capabilities
from offload.backends.openai_wire import json_object
from offload.backends.provider import ProviderHTTPBackend, timings
from offload.backends.sse import aiter_sse
from offload.backends.transport import TransportError
from offload.config import BackendConfig
from offload.errors import InvalidRequest, MalformedResponse, UpstreamHTTPError
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
)

#: Pages fetched at most by :meth:`AnthropicBackend.list_models` (1000 models each).
_MAX_MODEL_PAGES = 10


class AnthropicBackend(ProviderHTTPBackend):
    """Backend for Anthropic's Messages API."""

    kind = "anthropic"
    forward_headers = frozenset({"content-type", "accept", "anthropic-version", "anthropic-beta"})

    def __init__(self, config: BackendConfig, *, default_max_tokens: int = DEFAULT_MAX_TOKENS, **kw: Any) -> None:
        super().__init__(config, **kw)
        self.default_max_tokens = default_max_tokens

    def make_capabilities(self) -> Capabilities:
        return Capabilities(cloud=self.config.is_cloud, count_tokens=True)

    def default_headers(self) -> dict[str, str]:
        return {"anthropic-version": API_VERSION}

    def auth_headers(self) -> dict[str, str]:
        key = self._key()
        return {"x-api-key": key} if key else {}

    def error_detail(self, body: str) -> tuple[str | None, str | None]:
        return error_detail(body)

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        return request_to_wire(request, stream=stream, default_max_tokens=self.default_max_tokens)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """One non-streaming Messages call."""
        started = time.perf_counter()
        try:
            resp = await self.request(
                "POST", self.api_path("messages"), json=self._body(request, stream=False), headers=self.auth_headers()
            )
        except UpstreamHTTPError as exc:
            self._model_hint(exc, request.model)
            raise
        out = response_from_wire(self.decode(resp, "a message"), request, backend=self.name)
        out.timings = timings(started, None, out.usage.output_tokens)
        return out

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream a Messages call: text deltas, complete tool calls, then one :class:`StreamEnd`."""
        started = time.perf_counter()
        ttft: float | None = None
        state = StreamState(backend=self.name)
        try:
            async with self.stream_request(
                "POST", self.api_path("messages"), json=self._body(request, stream=True), headers=self.auth_headers()
            ) as resp:
                try:
                    async for batch in aiter_sse(resp.aiter_bytes()):
                        for sse in batch:
                            if sse.event == "ping" or not sse.data.strip():
                                continue
                            what = f"a {sse.event or 'stream'} event"
                            event = json_object(sse.data, backend=self.name, what=what)
                            if sse.event == "error" or event.get("type") == "error":
                                raise self._stream_error(event)
                            got = state.feed(event)
                            if got is not None and ttft is None:
                                ttft = time.perf_counter() - started
                            if isinstance(got, str):
                                yield TextDelta(text=got)
                            elif got is not None:
                                yield ToolCallEvent(call=got)
                            if state.stopped:
                                break
                        if state.stopped:
                            break
                except TransportError as exc:
                    raise self.mid_stream_error(exc) from exc
        except UpstreamHTTPError as exc:
            self._model_hint(exc, request.model)
            raise
        if not state.stopped:
            raise self.truncated("message_stop")
        usage = usage_from_wire(state.usage)
        yield StreamEnd(
            response=ChatResponse(
                id=state.id,
                model=state.model or request.model,
                backend=self.name,
                content=state.content,
                tool_calls=list(state.tool_calls),
                finish_reason=stop_reason(state.stop),
                usage=usage,
                timings=timings(started, ttft, usage.output_tokens),
            )
        )

    def _stream_error(self, event: dict[str, Any]) -> UpstreamHTTPError:
        inner = event.get("error")
        err: dict[str, Any] = inner if isinstance(inner, dict) else {}
        kind = str(err.get("type") or "api_error")
        status = ERROR_STATUS.get(kind, 500)
        msg = default_redactor().text(str(err.get("message") or kind))[:300]
        return UpstreamHTTPError(
            f"backend {self.name!r} sent an error event mid-stream ({kind}): {msg}",
            status=status,
            body=default_redactor().text(str(event))[:2000],
            backend=self.name,
            hint="Anthropic is overloaded; retry later"
            if kind == "overloaded_error"
            else "the answer was cut short by the API; retry",
        )

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of ``request`` per ``POST /v1/messages/count_tokens`` (free; rate-limited separately)."""
        try:
            resp = await self.request(
                "POST",
                self.api_path("messages/count_tokens"),
                json=count_tokens_body(request),
                headers=self.auth_headers(),
            )
        except UpstreamHTTPError as exc:
            self._model_hint(exc, request.model)
            raise
        data = self.decode(resp, "a token count")
        if not isinstance(data.get("input_tokens"), int):
            raise MalformedResponse(
                f"backend {self.name!r} answered a token count without input_tokens", backend=self.name
            )
        return int(data["input_tokens"])

    async def embed(self, model: str, inputs: list[str]) -> EmbedResult:
        """Anthropic has no embeddings endpoint."""
        raise InvalidRequest(
            f"backend {self.name!r} (Anthropic) cannot embed",
            hint="route embeddings to a backend with capability 'embed' (an OpenAI-compatible or Ollama backend)",
        )

    async def list_models(self) -> list[ModelInfo]:
        """``GET /v1/models``, following ``has_more`` / ``last_id`` pagination."""
        out: list[ModelInfo] = []
        params: dict[str, Any] = {"limit": 1000}
        for _ in range(_MAX_MODEL_PAGES):
            resp = await self.request("GET", self.api_path("models"), params=params, headers=self.auth_headers())
            data = self.decode(resp, "the model list")
            for row in data.get("data") or []:
                if isinstance(row, dict) and row.get("id"):
                    details = {k: v for k, v in row.items() if k not in ("id", "type")}
                    out.append(ModelInfo(name=str(row["id"]), backend=self.name, details=details))
            if not data.get("has_more") or not data.get("last_id"):
                break
            params = {"limit": 1000, "after_id": data["last_id"]}
        return out


__all__ = ["AnthropicBackend"]
