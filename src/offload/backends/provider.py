"""Plumbing the provider backends (OpenAI-compatible, Anthropic) share: the ``/v1`` path prefix, auth-aware
error hints, a health probe, timings, retries until headers arrive, and raw pass-through via
:meth:`ProviderHTTPBackend.forward` for the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from offload.backends.http import HTTPBackendBase
from offload.backends.openai_wire import error_message, json_object
from offload.backends.transport import HTTPResponse, TransportError, TransportTimeout
from offload.config import BackendConfig
from offload.errors import BackendError, BackendUnavailable, InvalidRequest, MalformedResponse, UpstreamHTTPError
from offload.redact import default_redactor
from offload.types import HealthStatus, Timings


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

    def __init__(self, config: BackendConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        #: Prefix for API paths: empty when base_url already ends in /v1.
        self.prefix = "" if self.base_url.endswith("/v1") else "/v1"

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

    def error_from_response(self, status: int, body: str, headers: Mapping[str, str]) -> UpstreamHTTPError:
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

    def mid_stream_error(self, exc: TransportError) -> BackendError:
        """The typed error for a connection that broke after the answer had started."""
        if isinstance(exc, TransportTimeout):
            return self._map_transport_error(exc)
        return BackendUnavailable(
            f"connection to backend {self.name!r} broke mid-stream ({exc.kind}); the answer is incomplete",
            backend=self.name,
            hint="the server may have crashed, restarted or run out of memory; check its logs and retry",
        )

    def truncated(self, what: str) -> MalformedResponse:
        return MalformedResponse(
            f"stream from backend {self.name!r} ended before {what}; the answer is truncated",
            backend=self.name,
            hint="the server closed the stream early (crash, restart or proxy timeout); check its logs and retry",
        )

    def decode(self, resp: HTTPResponse, what: str) -> dict[str, Any]:
        return json_object(resp.text, backend=self.name, what=what)

    async def health(self) -> HealthStatus:
        """``GET /v1/models`` once, without retries. Never raises."""
        started = time.perf_counter()
        try:
            resp = await self._client.request(
                "GET", self.api_path("models"), headers=self.auth_headers(), timeout=min(10.0, self.config.timeout_s)
            )
        except TransportError as exc:
            err: BackendError = self._map_transport_error(exc)
            return HealthStatus(backend=self.name, ok=False, detail=err.message, hint=err.hint)
        latency = time.perf_counter() - started
        if resp.status_code >= 400:
            err = self.error_from_response(resp.status_code, resp.text, resp.headers)
            return HealthStatus(backend=self.name, ok=False, latency_s=latency, detail=err.message, hint=err.hint)
        return HealthStatus(backend=self.name, ok=True, latency_s=latency, detail=f"{self.base_url} answers")

    # -- raw pass-through ---------------------------------------------------------------------------
    async def open_response(self, method: str, path: str, **kw: Any) -> HTTPResponse:
        """Open a streaming response, retrying like :meth:`stream_request` until 2xx headers arrive.

        Returns the *open* response; the caller reads it (``aiter_bytes``) and must ``aclose()`` it. ``kw`` as
        for :meth:`HTTPClient.open` (``decompress=False`` passes the body on as sent).
        """
        return await self._open(method, path, **kw)

    async def forward(self, path: str, body: bytes, headers: Mapping[str, str]) -> HTTPResponse:
        """POST ``body`` unchanged to the API ``path`` (e.g. ``/v1/messages``) with this backend's own key.

        ``path`` may carry a query (``/v1/messages?beta=true``). Only the caller headers in
        :attr:`forward_headers` pass; its auth, ``Host`` and anything naming another upstream are dropped. The
        upstream is asked for an unencoded body and nothing is decoded, so ``aiter_bytes`` yields the bytes as
        sent. Retries happen until headers arrive; a non-2xx answer raises :class:`UpstreamHTTPError` (with the
        redacted upstream body in ``.body``). Returns the open response: iterate ``aiter_bytes()``, then
        ``aclose()``.
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
        return await self.open_response("POST", rel, content=body, headers=sent, decompress=False)
