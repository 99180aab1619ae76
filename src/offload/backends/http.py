"""Shared HTTP plumbing for the HTTP backends: one :class:`~offload.backends.transport.HTTPClient`, retries,
error mapping.

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
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from offload.backends.base import Capabilities
from offload.backends.transport import HTTPClient, HTTPResponse, TransportError, TransportTimeout, make_client
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
        transport: Any = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        """``transport``: an httpx async transport to send through instead of the network (a test seam, e.g.
        ``httpx.ASGITransport(app=fake.app)``)."""
        assert config.base_url, "HTTP backends need base_url"
        self.config = config
        self.name = config.name or self.kind
        self.base_url = config.base_url.rstrip("/")
        self._sleep = sleep
        self._client: HTTPClient = make_client(
            self.base_url,
            timeout_s=config.timeout_s,
            connect_timeout_s=config.connect_timeout_s,
            headers=self.default_headers(),
            max_connections=256,
            transport=transport,
        )
        key = config.api_key()
        if key:  # the configured key never reaches a log, an error or the journal
            default_redactor().add(key)
        self.capabilities = self.make_capabilities()

    # -- to override --------------------------------------------------------------------------------
    def make_capabilities(self) -> Capabilities:
        """What this backend can do (set once, as ``self.capabilities``)."""
        return Capabilities(cloud=self.config.is_cloud)

    def default_headers(self) -> dict[str, str]:
        return {}

    def hint_unreachable(self) -> str:
        return f"start the server at {self.base_url} or fix base_url for backend {self.name!r} in offload.toml"

    # -- error mapping ------------------------------------------------------------------------------
    def _map_transport_error(self, exc: TransportError) -> BackendError:
        red = default_redactor()
        if isinstance(exc, TransportTimeout):
            return BackendTimeout(
                f"backend {self.name!r} timed out ({exc.kind})",
                backend=self.name,
                hint=f"raise timeout_s for backend {self.name!r} or use a smaller model",
            )
        return BackendUnavailable(
            f"cannot reach backend {self.name!r} at {self.base_url}: {red.text(str(exc)) or exc.kind}",
            backend=self.name,
            hint=self.hint_unreachable(),
        )

    def error_from_response(self, status: int, body: str, headers: Mapping[str, str]) -> UpstreamHTTPError:
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

    async def request(self, method: str, path: str, **kw: Any) -> HTTPResponse:
        """Send a request, retrying retryable failures; return a 2xx response (body read) or raise a typed error.

        ``kw``: ``json``, ``content``, ``params``, ``headers``, ``timeout`` (see :meth:`HTTPClient.request`).
        """
        attempt = 0
        while True:
            try:
                resp = await self._client.request(method, path, **kw)
            except TransportError as exc:
                err: BackendError = self._map_transport_error(exc)
            else:
                if resp.status_code < 400:
                    return resp
                err = self.error_from_response(resp.status_code, resp.text, resp.headers)
            if not err.retryable or attempt >= self.config.max_retries:
                raise err
            await self._wait_before_retry(attempt, err)
            attempt += 1

    async def _open(self, method: str, path: str, **kw: Any) -> HTTPResponse:
        """Open a streaming response, retrying until 2xx headers arrive (the caller must ``aclose()`` it)."""
        attempt = 0
        while True:
            try:
                resp = await self._client.open(method, path, **kw)
            except TransportError as exc:
                err: BackendError = self._map_transport_error(exc)
            else:
                if resp.status_code < 400:
                    return resp
                try:
                    body = (await resp.aread()).decode("utf-8", "replace")
                except TransportError as exc:
                    err = self._map_transport_error(exc)
                else:
                    err = self.error_from_response(resp.status_code, body, resp.headers)
                finally:
                    await resp.aclose()
            if not err.retryable or attempt >= self.config.max_retries:
                raise err
            await self._wait_before_retry(attempt, err)
            attempt += 1

    @asynccontextmanager
    async def stream_request(self, method: str, path: str, **kw: Any) -> AsyncIterator[HTTPResponse]:
        """Open a streaming request (retrying until headers arrive); yields the open 2xx response.

        Read it with ``aiter_lines()`` / ``aiter_bytes()``; a :class:`TransportError` escaping the block becomes
        the typed backend error.
        """
        resp = await self._open(method, path, **kw)
        try:
            yield resp
        except TransportError as exc:
            raise self._map_transport_error(exc) from exc
        finally:
            await resp.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
