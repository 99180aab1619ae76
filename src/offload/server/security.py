"""The gateway's front door, as pure ASGI middleware: bind rules, API key, Host/Origin allowlists, body limits.

- Bind 127.0.0.1 by default; :func:`check_bind` refuses any other address unless an API key is configured.
- With a key configured, every request except ``/`` (Claude Code's ``HEAD /`` connection check) must carry it
  as ``Authorization: Bearer <key>`` or ``x-api-key: <key>``; keys are compared in constant time. The
  dashboard under ``/ui`` checks the key itself (its API also takes a session cookie set by signing in with
  the key, since a browser cannot add the header to a page load; its static pages hold no data).
- DNS rebinding: the ``Host`` header must name this gateway (localhost, 127.0.0.1, [::1], the bound host,
  ``[server] allowed_hosts``); an ``Origin`` header, when present, must be a local origin or one listed in
  ``[server] allowed_origins``. ``Origin: null`` is refused. No ``Origin`` at all (CLIs, SDKs) is fine.
- Bodies must be JSON (415 otherwise; the Ollama API also takes curl's default form type, as Ollama does) and
  no larger than ``[server] max_body_bytes`` — checked against Content-Length up front and counted while
  reading, so an oversize chunked body is cut off without being buffered.
Errors are rendered in the dialect of the path (OpenAI, Anthropic or Ollama shape).
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
import time
from typing import Any

from offload.dialects import dialect_for_path, render_error
from offload.errors import AuthError, ConfigError, InvalidRequest, OffloadError
from offload.server.asgi import PayloadTooLarge, Receive, Scope, Send, UnsupportedMediaType, send_json
from offload.server.settings import ServerSettings

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "localhost.localdomain", "ip6-localhost"})
WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})


class Forbidden(InvalidRequest):
    """The request comes from somewhere the gateway does not serve (foreign Origin)."""

    code = "permission_error"
    http_status = 403


class BadHost(InvalidRequest):
    """The Host header names another server (a DNS-rebinding attempt or a misconfigured proxy)."""

    code = "invalid_host"
    http_status = 400


def is_loopback(host: str) -> bool:
    h = host.strip("[]").lower()
    if h in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: ServerSettings) -> None:
    """Refuse to listen beyond loopback without an API key (raises :class:`ConfigError`)."""
    if is_loopback(host):
        return
    if not settings.api_key():
        env = settings.api_key_env or "OFFLOAD_API_KEY"
        raise ConfigError(
            f"refusing to listen on {host!r} without an API key: anyone on the network could use your backends",
            key="server.host",
            hint=f"export {env}=<a long random secret> (and give it to your clients), or bind 127.0.0.1",
        )


def host_allowlist(settings: ServerSettings, bound_host: str | None) -> frozenset[str] | None:
    """Host names this gateway answers to (``None`` = any, when ``allowed_hosts`` contains ``*``)."""
    if "*" in settings.allowed_hosts:
        return None
    names = set(LOCAL_NAMES)
    if bound_host:
        h = bound_host.lower()
        if h in WILDCARDS:
            try:
                names.add(socket.gethostname().lower())
            except OSError:  # pragma: no cover
                pass
        else:
            names.add(h.strip("[]"))
    names.update(h.lower().strip("[]") for h in settings.allowed_hosts)
    return frozenset(names)


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _key_matches(provided: str | None, key: bytes) -> bool:
    if provided is None:
        return False
    return hmac.compare_digest(provided.encode("latin-1", "replace"), key)


def _self_authenticating(path: str) -> bool:
    """Paths whose app checks the API key itself: the dashboard (see :mod:`offload.dashboard.guard`)."""
    return path == "/ui" or path.startswith("/ui/")


def _is_json_type(ctype: str) -> bool:
    main = ctype.split(";", 1)[0].strip().lower()
    return main == "application/json" or (main.startswith("application/") and main.endswith("+json"))


class SecurityMiddleware:
    """Wraps the gateway app; see the module docstring for what it enforces."""

    def __init__(self, app: Any, settings: ServerSettings, *, bound_host: str | None = None) -> None:
        self.app = app
        self.settings = settings
        self.max_body = settings.max_body_bytes
        key = settings.api_key()
        self._key = key.encode("latin-1", "replace") if key else None
        self._hosts = host_allowlist(settings, bound_host)
        self._origins = frozenset(o.rstrip("/").lower() for o in settings.allowed_origins)

    async def _refuse(
        self, send: Send, dialect: str, exc: OffloadError, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        status, body = render_error(dialect, exc)
        headers = list(extra or [])
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send_json(send, status, body, headers)

    def _origin_ok(self, origin: str) -> bool:
        o = origin.strip().rstrip("/").lower()
        if o == "null" or not o:
            return False
        if o in self._origins or "*" in self._origins:
            return True
        if "://" not in o:
            return False
        host = _host_name(o.split("://", 1)[1].split("/", 1)[0])
        return is_loopback(host) or (self._hosts is not None and host in self._hosts and host not in WILDCARDS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["offload.t0"] = time.perf_counter()
        path: str = scope["path"]
        dialect = dialect_for_path(path)
        host = origin = auth = xkey = ctype = clen = chunked = None
        for k, v in scope["headers"]:
            if k == b"host":
                host = v.decode("latin-1")
            elif k == b"origin":
                origin = v.decode("latin-1")
            elif k == b"authorization":
                auth = v.decode("latin-1")
            elif k == b"x-api-key":
                xkey = v.decode("latin-1")
            elif k == b"content-type":
                ctype = v.decode("latin-1")
            elif k == b"content-length":
                clen = v
            elif k == b"transfer-encoding":
                chunked = v
        if self._hosts is not None and (host is None or _host_name(host) not in self._hosts):
            await self._refuse(
                send,
                dialect,
                BadHost(
                    "this gateway does not answer to that Host header",
                    hint="call it as localhost / 127.0.0.1, or add the name to [server] allowed_hosts",
                ),
            )
            return
        if origin is not None and not self._origin_ok(origin):
            await self._refuse(
                send,
                dialect,
                Forbidden(
                    "requests from this Origin are not allowed",
                    hint="browser pages may only call offload from a local origin or one in [server] allowed_origins",
                ),
            )
            return
        if self._key is not None and path != "/" and not _self_authenticating(path):
            token = auth[7:].strip() if auth and auth[:7].lower() == "bearer " else None
            if not (_key_matches(token, self._key) or _key_matches(xkey, self._key)):
                await self._refuse(
                    send,
                    dialect,
                    AuthError(
                        "missing or wrong API key",
                        hint="send the key from $"
                        + (self.settings.api_key_env or "OFFLOAD_API_KEY")
                        + " as 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
                    ),
                )
                return
        if scope["method"] == "POST":
            has_body = chunked is not None or (clen is not None and clen.strip() != b"0")
            if (
                has_body
                and not (ctype and _is_json_type(ctype))
                and not (
                    dialect == "ollama" and (ctype is None or ctype.startswith("application/x-www-form-urlencoded"))
                )
            ):
                await self._refuse(
                    send,
                    dialect,
                    UnsupportedMediaType(
                        f"unsupported content type {ctype or '(none)'!r}", hint="send the body as application/json"
                    ),
                )
                return
            if clen is not None:
                try:
                    n = int(clen)
                except ValueError:
                    n = -1
                if n < 0 or n > self.max_body:
                    await self._refuse(
                        send,
                        dialect,
                        PayloadTooLarge(
                            f"the request body is larger than {self.max_body} bytes",
                            hint="raise [server] max_body_bytes in offload.toml, or send less",
                        ),
                        [(b"connection", b"close")],
                    )
                    return
            receive = self._limited(receive)
        await self.app(scope, receive, send)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body

        async def limited() -> dict[str, Any]:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(
                        f"the request body is larger than {limit} bytes",
                        hint="raise [server] max_body_bytes in offload.toml, or send less",
                    )
            return msg

        return limited
