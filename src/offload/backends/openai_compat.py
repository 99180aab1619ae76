"""The OpenAI-compatible backend: one adapter for OpenAI, LM Studio, llama.cpp ``llama-server`` and vLLM.

Speaks ``POST /v1/chat/completions`` (plain and SSE with ``stream_options.include_usage``), ``GET /v1/models``
and ``POST /v1/embeddings``. ``base_url`` may end in ``/v1`` or not. The key (if any) is read from the
environment variable the config names and sent as ``Authorization: Bearer``.

This module also holds :class:`ProviderHTTPBackend`, the plumbing the provider backends share (path prefix,
auth-aware error hints, a health probe, timings, and raw pass-through via :meth:`ProviderHTTPBackend.forward`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from offload.backends.base import Capabilities
from offload.backends.http import HTTPBackendBase
from offload.backends.openai_wire import (
    StreamAccumulator,
    aiter_sse,
    error_message,
    estimated_usage,
    finish_reason,
    json_object,
    request_to_wire,
    response_from_wire,
)
from offload.config import BackendConfig
from offload.errors import BackendError, BackendUnavailable, InvalidRequest, MalformedResponse, UpstreamHTTPError
from offload.redact import default_redactor
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
    ToolCallEvent,
    Usage,
)


def timings(started: float, ttft: float | None, output_tokens: int, reported_tps: float | None = None) -> Timings:
    """Timings of a call that started at ``started`` (``perf_counter``); tokens/s over the generation phase."""
    total = time.perf_counter() - started
    gen = total - ttft if ttft is not None and total - ttft > 0 else total
    tps = reported_tps if reported_tps else (output_tokens / gen if output_tokens and gen > 0 else None)
    return Timings(ttft_s=ttft if ttft is not None else total, total_s=total, tokens_per_s=tps)


class ProviderHTTPBackend(HTTPBackendBase):
    """Shared plumbing of the provider backends (OpenAI-compatible, Anthropic). Not used on its own."""

    #: Caller headers :meth:`forward` passes on (lower case). Auth headers are never among them.
    forward_headers: frozenset[str] = frozenset({"content-type", "accept"})

    def __init__(
        self,
        config: BackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        super().__init__(config, transport=transport, sleep=sleep)
        #: Prefix for API paths: empty when base_url already ends in /v1.
        self.prefix = "" if self.base_url.endswith("/v1") else "/v1"
        key = config.api_key()
        if key:
            default_redactor().add(key)

    # -- to override --------------------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """Headers carrying the configured key (read from the environment on every call)."""
        return {}

    def error_detail(self, body: str) -> tuple[str | None, str | None]:
        """``(message, code)`` from a provider error body."""
        return error_message(body)

    # -- shared -------------------------------------------------------------------------------------
    def api_path(self, endpoint: str) -> str:
        """``endpoint`` (``"chat/completions"``) as a path under base_url, adding ``/v1`` when needed."""
        return f"{self.prefix}/{endpoint.lstrip('/')}"

    def _key(self) -> str | None:
        key = self.config.api_key()
        if key:
            default_redactor().add(key)
        return key

    def key_hint(self) -> str:
        env = self.config.api_key_env
        if not env:
            return f"set api_key_env for backend {self.name!r} in offload.toml to the variable holding your key"
        if not self.config.api_key():
            return f"the environment variable {env} is not set; export {env}=<your key> and retry"
        return f"the key in ${env} was rejected; check it (and that it may use this model)"

    def error_from_response(self, status: int, body: str, headers: httpx.Headers) -> UpstreamHTTPError:
        err = super().error_from_response(status, body, headers)
        msg, code = self.error_detail(body)
        red = default_redactor()
        if msg:
            err.message = red.text(f"backend {self.name!r} answered HTTP {status}" + (f" ({code})" if code else ""))
            err.message += ": " + red.text(msg)[:300]
            err.args = (err.message,)
        if status in (401, 403):
            err.hint = self.key_hint()
        elif status == 404:
            err.hint = f"check the model name and base_url ({self.base_url}) of backend {self.name!r}"
        return err

    def _model_hint(self, exc: UpstreamHTTPError, model: str) -> UpstreamHTTPError:
        if exc.status == 404:
            exc.hint = (
                f"backend {self.name!r} does not serve model {model!r} (or base_url {self.base_url} is wrong); "
                "compare with the names `offload models` lists for it"
            )
        return exc

    def mid_stream_error(self, exc: Exception) -> BackendError:
        """The typed error for a connection that broke after the answer had started."""
        if isinstance(exc, httpx.TimeoutException):
            return self._map_transport_error(exc)
        return BackendUnavailable(
            f"connection to backend {self.name!r} broke mid-stream ({type(exc).__name__}); the answer is incomplete",
            backend=self.name,
            hint="the server may have crashed, restarted or run out of memory; check its logs and retry",
        )

    def truncated(self, what: str) -> MalformedResponse:
        return MalformedResponse(
            f"stream from backend {self.name!r} ended before {what}; the answer is truncated",
            backend=self.name,
            hint="the server closed the stream early (crash, restart or proxy timeout); check its logs and retry",
        )

    def decode(self, resp: httpx.Response, what: str) -> dict[str, Any]:
        return json_object(resp.text, backend=self.name, what=what)

    async def health(self) -> HealthStatus:
        """``GET /v1/models`` once, without retries. Never raises."""
        started = time.perf_counter()
        try:
            resp = await self._client.get(
                self.api_path("models"),
                headers=self.auth_headers(),
                timeout=httpx.Timeout(min(10.0, self.config.timeout_s), connect=self.config.connect_timeout_s),
            )
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            err: BackendError = self._map_transport_error(exc)
            return HealthStatus(backend=self.name, ok=False, detail=err.message, hint=err.hint)
        latency = time.perf_counter() - started
        if resp.status_code >= 400:
            err = self.error_from_response(resp.status_code, resp.text, resp.headers)
            return HealthStatus(backend=self.name, ok=False, latency_s=latency, detail=err.message, hint=err.hint)
        return HealthStatus(backend=self.name, ok=True, latency_s=latency, detail=f"{self.base_url} answers")

    # -- raw pass-through ---------------------------------------------------------------------------
    async def open_response(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send with ``stream=True``, retrying like :meth:`stream_request` until 2xx headers arrive.

        Returns the *open* response; the caller reads it (``aiter_raw``) and must ``aclose()`` it.
        """
        attempt = 0
        while True:
            try:
                resp = await self._client.send(self._client.build_request(method, path, **kw), stream=True)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                err: BackendError = self._map_transport_error(exc)
            else:
                if resp.status_code < 400:
                    return resp
                body = (await resp.aread()).decode("utf-8", "replace")
                await resp.aclose()
                err = self.error_from_response(resp.status_code, body, resp.headers)
            if not err.retryable or attempt >= self.config.max_retries:
                raise err
            await self._wait_before_retry(attempt, err)
            attempt += 1

    async def forward(self, path: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """POST ``body`` unchanged to the API ``path`` (e.g. ``/v1/messages``) with this backend's own key.

        ``path`` may carry a query (``/v1/messages?beta=true``). Only the caller headers in
        :attr:`forward_headers` pass; its auth, ``Host`` and anything naming another upstream are dropped. The
        upstream is asked for an unencoded body, so ``aiter_raw`` yields the bytes as sent. Retries happen until
        headers arrive; a non-2xx answer raises :class:`UpstreamHTTPError` (with the redacted upstream body in
        ``.body``). Returns the open response: iterate ``aiter_raw()``, then ``aclose()``.
        """
        route = path.split("?", 1)[0]
        if not route.startswith("/v1/") or "//" in route or ".." in route or "\\" in route or "#" in path:
            raise InvalidRequest(
                f"cannot forward to {path!r}: only API paths under /v1/ can be forwarded",
                hint="forward the path the client called, e.g. /v1/messages",
            )
        rel = path[3:] if self.prefix == "" else path
        sent = {k.lower(): v for k, v in headers.items() if k.lower() in self.forward_headers}
        sent.setdefault("content-type", "application/json")
        sent.update(self.auth_headers())
        sent["accept-encoding"] = "identity"
        return await self.open_response("POST", rel, content=body, headers=sent)


class OpenAICompatBackend(ProviderHTTPBackend):
    """Backend for any server speaking the OpenAI Chat Completions API."""

    kind = "openai_compat"
    forward_headers = frozenset({"content-type", "accept", "openai-beta"})

    def __init__(
        self,
        config: BackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        super().__init__(config, transport=transport, sleep=sleep)
        self.capabilities = Capabilities(embed=True, cloud=config.is_cloud)

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
                    async for event in aiter_sse(resp.aiter_lines()):
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
                except httpx.TransportError as exc:
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
