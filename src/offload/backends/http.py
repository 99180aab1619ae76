"""Shared HTTP plumbing for the HTTP backends: one ``httpx.AsyncClient``, retries, error mapping.

Retries (exponential backoff with full jitter) happen only for retryable failures: connection errors,
timeouts, and HTTP 408/409/429/5xx. ``Retry-After`` is honoured up to ``retry_max_wait_s``. Other 4xx
answers are never retried. For streams, retries apply until the response headers arrive; once bytes have
been passed to the caller nothing is replayed.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from offload.config import BackendConfig
from offload.errors import BackendError, BackendTimeout, BackendUnavailable, UpstreamHTTPError
from offload.redact import default_redactor

RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt: int, base: float = 0.25, cap: float = 8.0) -> float:
    """Full-jitter exponential backoff for retry number ``attempt`` (0-based)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


class HTTPBackendBase:
    """Base for backends that talk HTTP. Subclasses set ``kind`` and implement the protocol."""

    kind = "http"

    def __init__(
        self,
        config: BackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        assert config.base_url, "HTTP backends need base_url"
        self.config = config
        self.name = config.name or self.kind
        self.base_url = config.base_url.rstrip("/")
        self._sleep = sleep
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers=self.default_headers(),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    # -- to override --------------------------------------------------------------------------------
    def default_headers(self) -> dict[str, str]:
        return {}

    def hint_unreachable(self) -> str:
        return f"start the server at {self.base_url} or fix base_url for backend {self.name!r} in offload.toml"

    # -- error mapping ------------------------------------------------------------------------------
    def _map_transport_error(self, exc: Exception) -> BackendError:
        red = default_redactor()
        if isinstance(exc, httpx.TimeoutException):
            return BackendTimeout(
                f"backend {self.name!r} timed out ({type(exc).__name__})",
                backend=self.name,
                hint=f"raise timeout_s for backend {self.name!r} or use a smaller model",
            )
        return BackendUnavailable(
            f"cannot reach backend {self.name!r} at {self.base_url}: {red.text(str(exc)) or type(exc).__name__}",
            backend=self.name,
            hint=self.hint_unreachable(),
        )

    def error_from_response(self, status: int, body: str, headers: httpx.Headers) -> UpstreamHTTPError:
        """Build the typed error for a non-2xx answer (subclasses may refine message / hint)."""
        body = default_redactor().text(body[:2000])
        hint = None
        if status in (401, 403):
            env = self.config.api_key_env
            hint = f"check the key in ${env}" if env else "set api_key_env for this backend in offload.toml"
        elif status == 404:
            hint = "check the model name and base_url"
        elif status == 429:
            hint = "the backend is rate limiting; wait or lower concurrency"
        return UpstreamHTTPError(
            f"backend {self.name!r} answered HTTP {status}: {body[:300]}",
            status=status,
            body=body,
            backend=self.name,
            hint=hint,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )

    # -- requests with retries ----------------------------------------------------------------------
    async def _wait_before_retry(self, attempt: int, err: BackendError) -> None:
        delay = backoff_delay(attempt)
        ra = getattr(err, "retry_after", None)
        if ra is not None:
            delay = max(delay, ra)
        await self._sleep(min(delay, self.config.retry_max_wait_s))

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send a request, retrying retryable failures; return a 2xx response or raise a typed error."""
        attempt = 0
        while True:
            try:
                resp = await self._client.request(method, path, **kw)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                err: BackendError = self._map_transport_error(exc)
            else:
                if resp.status_code < 400:
                    return resp
                err = self.error_from_response(resp.status_code, resp.text, resp.headers)
            if not err.retryable or attempt >= self.config.max_retries:
                raise err
            await self._wait_before_retry(attempt, err)
            attempt += 1

    @asynccontextmanager
    async def stream_request(self, method: str, path: str, **kw: Any) -> AsyncIterator[httpx.Response]:
        """Open a streaming request (retrying until headers arrive); yields the open 2xx response."""
        attempt = 0
        while True:
            try:
                req = self._client.build_request(method, path, **kw)
                resp = await self._client.send(req, stream=True)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                err: BackendError = self._map_transport_error(exc)
            else:
                if resp.status_code < 400:
                    try:
                        yield resp
                    except (httpx.TransportError, httpx.TimeoutException) as exc:
                        raise self._map_transport_error(exc) from exc
                    finally:
                        await resp.aclose()
                    return
                body = (await resp.aread()).decode("utf-8", "replace")
                await resp.aclose()
                err = self.error_from_response(resp.status_code, body, resp.headers)
            if not err.retryable or attempt >= self.config.max_retries:
                raise err
            await self._wait_before_retry(attempt, err)
            attempt += 1

    async def aclose(self) -> None:
        await self._client.aclose()
