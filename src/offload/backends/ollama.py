"""The Ollama backend: chat, streaming, embeddings and model operations over Ollama's REST API.

Speaks ``/api/chat`` (NDJSON streaming), ``/api/embed``, ``/api/tags``, ``/api/ps``, ``/api/show``,
``/api/pull`` and ``/api/version``. Loading and unloading use ``keep_alive`` on an empty ``/api/generate``
request, as Ollama documents. Wire conversion lives in :mod:`offload.backends.ollama_wire`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from offload.backends.base import Capabilities
from offload.backends.http import HTTPBackendBase
from offload.backends.ollama_wire import (
    build_response,
    chat_payload,
    keep_alive_to_wire,
    model_from_show,
    model_from_tag,
    pull_progress_from_wire,
    server_ttft,
    tool_calls_from_wire,
)
from offload.backends.openai_wire import parse_json
from offload.backends.transport import HTTPResponse, TransportError, TransportTimeout
from offload.errors import (
    BackendError,
    BackendUnavailable,
    MalformedResponse,
    OffloadError,
    UnknownModel,
    UpstreamHTTPError,
)
from offload.redact import default_redactor
from offload.types import (
    ChatRequest,
    ChatResponse,
    EmbedResult,
    HealthStatus,
    ModelInfo,
    PullProgress,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    Usage,
)

#: Error texts Ollama uses (after "pull model manifest: ") when the registry does not have a model.
_PULL_NOT_FOUND = ("file does not exist", "not found")


def _error_text(body: str) -> str:
    """The ``error`` field of an Ollama error body, or the body itself."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, ValueError):
        return body.strip()
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return body.strip()


class OllamaBackend(HTTPBackendBase):
    """Talks to an Ollama server (``ollama serve``, default ``http://localhost:11434``)."""

    kind = "ollama"

    def make_capabilities(self) -> Capabilities:
        return Capabilities(embed=True, pull=True, ps=True, keep_alive=True, cloud=self.config.is_cloud)

    # -- HTTPBackendBase hooks ----------------------------------------------------------------------------
    def default_headers(self) -> dict[str, str]:
        key = self.config.api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def hint_unreachable(self) -> str:
        return f"start Ollama with `ollama serve` (default port 11434) or fix base_url for backend {self.name!r}"

    def error_from_response(self, status: int, body: str, headers: Mapping[str, str]) -> UpstreamHTTPError:
        base = super().error_from_response(status, body, headers)
        text = default_redactor().text(_error_text(body))[:300]
        hint = base.hint
        if status == 400 and "does not support" in text:
            hint = "pick a model with that capability (see `ollama show MODEL`) or drop the tools / images"
        elif status == 404 and "not found" not in text:
            hint = f"is {self.base_url} an Ollama server? check base_url for backend {self.name!r}"
        elif status >= 500:
            hint = "see the Ollama server log (`journalctl -u ollama` or ~/.ollama/logs/server.log)"
        return UpstreamHTTPError(
            f"ollama backend {self.name!r} answered HTTP {status}: {text}",
            status=status,
            body=base.body,
            backend=self.name,
            hint=hint,
            retry_after=base.retry_after,
        )

    # -- error refinement ---------------------------------------------------------------------------------
    def _refine(self, err: UpstreamHTTPError, model: str) -> OffloadError | None:
        """The sharper error for an upstream failure (404 "model not found" -> UnknownModel), or None."""
        detail = _error_text(err.body)
        if err.status == 404 and "not found" in detail:
            return UnknownModel(
                f"ollama backend {self.name!r}: {detail}",
                hint=f"run `ollama pull {model}` or `offload setup`",
                backend=self.name,
                model=model,
            )
        return None

    async def _post_json(self, path: str, payload: dict[str, Any], model: str) -> dict[str, Any]:
        try:
            resp = await self.request("POST", path, json=payload)
        except UpstreamHTTPError as err:
            better = self._refine(err, model)
            if better is None:
                raise
            raise better from err
        return self._json_object(resp)

    async def _get_json(self, path: str) -> dict[str, Any]:
        return self._json_object(await self.request("GET", path))

    def _json_object(self, resp: HTTPResponse) -> dict[str, Any]:
        path = urlsplit(self.base_url).path + resp.path.split("?", 1)[0]
        try:
            data = resp.json()
        except (json.JSONDecodeError, ValueError) as exc:
            raise self._malformed(f"answered {path} with non-JSON", resp.text) from exc
        if not isinstance(data, dict):
            raise self._malformed(f"answered {path} with a non-object", resp.text)
        if isinstance(data.get("error"), str):
            raise self._stream_error(data["error"])
        return data

    def _malformed(self, what: str, sample: str) -> MalformedResponse:
        sample = default_redactor().text(sample[:200])
        return MalformedResponse(
            f"ollama backend {self.name!r} {what}: {sample!r}",
            backend=self.name,
            hint=f"check that base_url {self.base_url} points at an Ollama server and that Ollama is up to date",
        )

    def _stream_error(self, message: str) -> UpstreamHTTPError:
        text = default_redactor().text(message)[:300]
        return UpstreamHTTPError(
            f"ollama backend {self.name!r} reported an error: {text}",
            status=500,
            body=text,
            backend=self.name,
            hint="see the Ollama server log (`journalctl -u ollama` or ~/.ollama/logs/server.log)",
        )

    async def _lines(self, resp: HTTPResponse) -> AsyncIterator[dict[str, Any]]:
        """Parse an NDJSON body into objects; an ``{"error": ...}`` line raises."""
        try:
            async for line in resp.aiter_lines():
                if not line.strip():
                    continue
                try:
                    obj = parse_json(line)
                except json.JSONDecodeError as exc:
                    raise self._malformed("sent a line that is not JSON", line) from exc
                if not isinstance(obj, dict):
                    raise self._malformed("sent a line that is not a JSON object", line)
                if isinstance(obj.get("error"), str):
                    raise self._stream_error(obj["error"])
                yield obj
        except TransportError as exc:
            if isinstance(exc, TransportTimeout):
                raise self._map_transport_error(exc) from exc
            raise BackendUnavailable(
                f"ollama backend {self.name!r} closed the stream before it finished ({exc.kind})",
                backend=self.name,
                hint="the Ollama server may have crashed or run out of memory; check its log and retry",
            ) from exc

    # -- Backend protocol ---------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer ``request`` with one non-streaming ``/api/chat`` call."""
        started = time.perf_counter()
        data = await self._post_json("/api/chat", chat_payload(request, stream=False), request.model)
        message = data.get("message")
        if not isinstance(message, dict):
            raise self._malformed("answered /api/chat without a message", json.dumps(data))
        total = time.perf_counter() - started
        return build_response(
            request=request,
            backend=self.name,
            final=data,
            content=str(message.get("content") or ""),
            tool_calls=tool_calls_from_wire(message),
            total_s=total,
            ttft_s=min(server_ttft(data) or total, total),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream ``/api/chat``: text deltas and tool calls, then one :class:`StreamEnd`."""
        started = time.perf_counter()
        ttft: float | None = None
        parts: list[str] = []
        calls: list[ToolCall] = []
        try:
            async with self.stream_request("POST", "/api/chat", json=chat_payload(request, stream=True)) as resp:
                async for chunk in self._lines(resp):
                    message = chunk.get("message") or {}
                    if not isinstance(message, dict):
                        raise self._malformed("sent a chunk whose message is not an object", json.dumps(chunk))
                    text = str(message.get("content") or "")
                    if text:
                        if ttft is None:
                            ttft = time.perf_counter() - started
                        parts.append(text)
                        yield TextDelta(text=text)
                    for call in tool_calls_from_wire(message):
                        if ttft is None:
                            ttft = time.perf_counter() - started
                        calls.append(call)
                        yield ToolCallEvent(call=call)
                    if chunk.get("done") is True:
                        total = time.perf_counter() - started
                        yield StreamEnd(
                            response=build_response(
                                request=request,
                                backend=self.name,
                                final=chunk,
                                content="".join(parts),
                                tool_calls=calls,
                                total_s=total,
                                ttft_s=ttft if ttft is not None else total,
                            )
                        )
                        return
        except UpstreamHTTPError as err:
            better = self._refine(err, request.model)
            if better is None:
                raise
            raise better from err
        raise MalformedResponse(
            f"ollama backend {self.name!r} ended the stream without a final done:true chunk",
            backend=self.name,
            hint="the Ollama server stopped mid-answer; check its log and retry",
        )

    async def embed(self, model: str, inputs: list[str]) -> EmbedResult:
        """Embed ``inputs`` with ``/api/embed``."""
        data = await self._post_json("/api/embed", {"model": model, "input": list(inputs)}, model)
        vectors = data.get("embeddings")
        if not isinstance(vectors, list) or len(vectors) != len(inputs):
            raise self._malformed(f"returned {len(vectors or [])} embeddings for {len(inputs)} inputs", str(data))
        return EmbedResult(
            model=str(data.get("model") or model),
            embeddings=vectors,
            usage=Usage(input_tokens=int(data.get("prompt_eval_count") or 0)),
        )

    async def list_models(self) -> list[ModelInfo]:
        """Installed models (``/api/tags``)."""
        data = await self._get_json("/api/tags")
        return [model_from_tag(m, self.name) for m in data.get("models") or [] if isinstance(m, dict)]

    async def health(self) -> HealthStatus:
        """One ``GET /api/version`` without retries; never raises."""
        started = time.perf_counter()
        try:
            resp = await self._client.request("GET", "/api/version", timeout=min(5.0, self.config.timeout_s))
        except TransportError as exc:
            err: BackendError = self._map_transport_error(exc)
            return HealthStatus(backend=self.name, ok=False, detail=err.message, hint=self.hint_unreachable())
        latency = time.perf_counter() - started
        if resp.status_code >= 400:
            err = self.error_from_response(resp.status_code, resp.text, resp.headers)
            return HealthStatus(
                backend=self.name,
                ok=False,
                latency_s=latency,
                detail=err.message,
                hint=err.hint or self.hint_unreachable(),
            )
        try:
            version = resp.json().get("version")
        except (json.JSONDecodeError, ValueError, AttributeError):
            version = None
        if not isinstance(version, str):
            return HealthStatus(
                backend=self.name,
                ok=False,
                latency_s=latency,
                detail=f"{self.base_url}/api/version did not answer like Ollama",
                hint=self.hint_unreachable(),
            )
        return HealthStatus(backend=self.name, ok=True, latency_s=latency, detail=f"ollama {version}")

    # -- ModelOps -----------------------------------------------------------------------------------------
    async def pull(self, model: str) -> AsyncIterator[PullProgress]:
        """Pull ``model`` from the registry, yielding Ollama's progress events until ``success``.

        An interrupted pull raises; pulling again resumes from the bytes already downloaded.
        """
        try:
            async with self.stream_request("POST", "/api/pull", json={"model": model, "stream": True}) as resp:
                async for line in self._lines(resp):
                    progress = pull_progress_from_wire(line)
                    yield progress
                    if progress.status == "success":
                        return
        except UpstreamHTTPError as err:
            text = _error_text(err.body).lower()
            if err.status == 404 or ("manifest" in text and any(s in text for s in _PULL_NOT_FOUND)):
                raise UnknownModel(
                    f"ollama backend {self.name!r} cannot pull {model!r}: {_error_text(err.body)}",
                    hint="check the name and tag at https://ollama.com/library",
                    backend=self.name,
                    model=model,
                ) from err
            raise UpstreamHTTPError(
                f"ollama backend {self.name!r}: the pull of {model!r} failed: {_error_text(err.body)}",
                status=err.status,
                body=err.body,
                backend=self.name,
                hint="check the network and pull again: Ollama resumes from the bytes already downloaded",
            ) from err
        raise BackendUnavailable(
            f"ollama backend {self.name!r}: the pull of {model!r} stopped before success",
            backend=self.name,
            hint="pull again: Ollama resumes from the bytes already downloaded",
        )

    async def ps(self) -> list[ModelInfo]:
        """Models loaded in memory right now (``/api/ps``), with VRAM use and expiry."""
        data = await self._get_json("/api/ps")
        return [model_from_tag(m, self.name) for m in data.get("models") or [] if isinstance(m, dict)]

    async def show(self, model: str) -> ModelInfo:
        """Details of one installed model (``/api/show``), including its context window."""
        data = await self._post_json("/api/show", {"model": model}, model)
        return model_from_show(model, data, self.name)

    async def load(self, model: str, keep_alive: str | int | None = None) -> None:
        """Load ``model`` into memory and keep it for ``keep_alive`` (``"5m"``, seconds, ``-1`` = forever)."""
        payload: dict[str, Any] = {"model": model, "stream": False}
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive_to_wire(keep_alive)
        await self._post_json("/api/generate", payload, model)

    async def unload(self, model: str) -> None:
        """Unload ``model`` now (``keep_alive: 0``)."""
        await self._post_json("/api/generate", {"model": model, "keep_alive": 0, "stream": False}, model)
