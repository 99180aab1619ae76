"""The gateway ASGI app: OpenAI, Anthropic and Ollama dialects in front of one :class:`~offload.engine.Engine`.

``create_app(engine)`` returns a raw ASGI callable (no framework on the hot path) wrapped in the security
middleware. Routing is one dict lookup; handlers parse with a dialect, call the engine, and render the answer
or the error in the caller's dialect. Nothing a handler raises ever reaches the client as a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from offload.dashboard import MOUNT as DASHBOARD_MOUNT
from offload.dashboard import Dashboard
from offload.dialects import dialect_for_path, render_error
from offload.engine import Engine
from offload.errors import MethodNotAllowed, NotFound, OffloadError
from offload.routing.scenarios import ScenarioPolicy, scenario_policy
from offload.server import routes_anthropic, routes_ollama, routes_openai, routes_responses
from offload.server.asgi import ClientDisconnected, Receive, Request, Scope, Send, send_bytes, send_json
from offload.server.openapi import openapi_schema
from offload.server.routes_common import send_error
from offload.server.security import SecurityMiddleware
from offload.server.settings import ServerSettings
from offload.store.retention import start_retention, stop_retention

log = logging.getLogger("offload.server")

Handler = Callable[["Gateway", Request], Awaitable[None]]

ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/chat/completions"): routes_openai.chat_completions,
    ("POST", "/chat/completions"): routes_openai.chat_completions,
    ("POST", "/v1/embeddings"): routes_openai.embeddings,
    ("GET", "/v1/models"): routes_openai.models,
    ("POST", "/v1/responses"): routes_responses.create_response,
    ("GET", "/v1/responses"): routes_responses.responses_get,
    ("POST", "/v1/messages"): routes_anthropic.messages,
    ("POST", "/v1/messages/count_tokens"): routes_anthropic.count_tokens,
    ("POST", "/api/chat"): routes_ollama.chat,
    ("POST", "/api/generate"): routes_ollama.generate,
    ("POST", "/api/embed"): routes_ollama.embed,
    ("POST", "/api/embeddings"): routes_ollama.embed,
    ("GET", "/api/tags"): routes_ollama.tags,
    ("GET", "/api/ps"): routes_ollama.ps,
    ("POST", "/api/show"): routes_ollama.show,
    ("GET", "/api/version"): routes_ollama.version,
}


class Gateway:
    """The ASGI app proper (use :func:`create_app` to get it behind the security middleware)."""

    def __init__(self, engine: Engine, settings: ServerSettings, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self.settings = settings
        self.owns_engine = owns_engine
        config = engine.config
        self._cloud: dict[str, str] = {}
        for name, b in config.backends.items():
            if b.is_cloud and b.kind in ("anthropic", "openai_compat"):
                self._cloud.setdefault(b.kind, name)
        policy_section = getattr(config.policy, "claude_code", None)
        self.scenario_policy: ScenarioPolicy = scenario_policy(
            policy_section, cloud_configured="anthropic" in self._cloud
        )
        self._paths = {p for _, p in ROUTES}
        #: The web dashboard, served on the same port under /ui (see offload.dashboard).
        self.dashboard = Dashboard(engine, settings)
        #: The daily journal prune when ``[defaults] journal_retention_days`` is set (see offload.store.retention).
        self._retention: asyncio.Task[None] | None = None

    # -- facts the handlers need --------------------------------------------------------------------------
    def has_cloud(self, kind: str) -> bool:
        return kind in self._cloud

    def cloud_backend(self, kind: str) -> str | None:
        return self._cloud.get(kind)

    def model_names(self) -> list[tuple[str, str]]:
        """(name, owner) of every model a client may ask for: the virtual ``auto`` plus the inventory."""
        return [("auto", "offload")] + [(m.name, m.backend) for m in self.engine.config.models]

    def knows_model(self, name: str) -> bool:
        return name in ("auto",) or name.startswith("offload/") or self.engine.config.model(name) is not None

    # -- ASGI -----------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":  # Codex tries a WebSocket first: refuse at once so it streams over HTTP
            await routes_responses.refuse_websocket(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                self._retention = start_retention(
                    self.engine.journal, self.engine.config.defaults.journal_retention_days
                )
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await stop_retention(self._retention)
                await self.dashboard.aclose()
                if self.owns_engine:
                    try:
                        await self.engine.aclose()
                    except Exception:  # pragma: no cover - best effort at exit
                        log.exception("closing the engine failed")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        if path == DASHBOARD_MOUNT or path.startswith(DASHBOARD_MOUNT + "/"):
            await self.dashboard(scope, receive, send)
            return
        dialect = dialect_for_path(path)
        req = Request(scope, receive, send, dialect)
        try:
            handler = ROUTES.get((method, path))
            if handler is not None:
                self.engine.active_requests += 1
                try:
                    await handler(self, req)
                finally:
                    self.engine.active_requests -= 1
            elif path == "/":
                await self._root(req)
            elif path == "/health" and method == "GET":
                await self._health(req)
            elif path == "/openapi.json" and method == "GET":
                await send_json(send, 200, openapi_schema())
            elif path in self._paths or path in ("/health", "/openapi.json"):
                allowed = sorted({m for m, p in ROUTES if p == path} or {"GET"})
                status, body = render_error(
                    dialect, MethodNotAllowed(f"{method} is not allowed on {path}", hint=f"use {', '.join(allowed)}")
                )
                await send_json(send, status, body, [(b"allow", ", ".join(allowed).encode())])
            else:
                raise NotFound(
                    f"offload does not serve {method} {path}",
                    hint="see /openapi.json for the endpoints of the three dialects",
                )
        except ClientDisconnected:
            return
        except OffloadError as exc:
            await send_error(req, exc)
        except Exception as exc:  # a bug: log it, answer a clean 500 in the caller's dialect
            ref = f"{time.time_ns():x}"[-10:]
            log.exception("internal error handling %s %s (ref %s)", method, path, ref)
            status, body = render_error(
                dialect,
                OffloadError(
                    f"internal error in the gateway (ref {ref}, {type(exc).__name__})",
                    hint="see the offload serve log for details",
                ),
            )
            try:
                await send_json(send, status, body)
            except Exception:  # response already started
                pass

    async def _root(self, req: Request) -> None:
        if req.method == "HEAD":
            await req.send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await req.send({"type": "http.response.body", "body": b""})
            return
        await send_bytes(
            req.send, 200, b"offload is running (OpenAI, Anthropic and Ollama APIs)", "text/plain; charset=utf-8"
        )

    async def _health(self, req: Request) -> None:
        statuses = await self.engine.health()
        ok = any(s.ok for s in statuses)
        await send_json(
            req.send,
            200 if ok else 503,
            {
                "status": "ok" if ok else "degraded",
                "backends": [s.model_dump(mode="json") for s in statuses],
            },
        )


def create_app(
    engine: Engine, settings: ServerSettings | None = None, *, bound_host: str | None = None, owns_engine: bool = False
) -> Any:
    """The gateway for ``engine``, behind Host/Origin/API-key/body-size checks (``settings`` defaults to the
    engine's config ``[server]`` section)."""
    settings = settings or engine.config.server
    gateway = Gateway(engine, settings, owns_engine=owns_engine)
    return SecurityMiddleware(gateway, settings, bound_host=bound_host or settings.host)
