"""The dashboard as a raw ASGI app mounted by the gateway at ``/ui``: static pages plus a JSON / SSE API.

``/ui/`` serves the single page (plain HTML, CSS and JavaScript modules shipped in ``static/``; no build
step, nothing fetched from elsewhere); ``/ui/api/...`` is the API the page calls; ``/ui/bench/report`` serves
a bench report. The gateway's security middleware has already checked Host and Origin; the
:class:`~offload.dashboard.guard.Guard` adds authentication (when the gateway has an API key) and the
cross-site rules for state-changing requests.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from offload.dashboard import api_actions, api_read, bench, playground, views
from offload.dashboard.events import EventHub
from offload.dashboard.guard import Guard
from offload.dashboard.http import (
    API_HEADERS,
    BASE_HEADERS,
    PAGE_CSP,
    Call,
    Reply,
    error_body,
    send_json_reply,
)
from offload.dashboard.pulls import PullJobs
from offload.engine import Engine
from offload.errors import MethodNotAllowed, NotFound, OffloadError
from offload.models.gpu import detect_gpus, resolve_budget
from offload.models.ops import ModelManager
from offload.server.asgi import ClientDisconnected, Receive, Request, Scope, Send, send_bytes
from offload.server.settings import ServerSettings

log = logging.getLogger("offload.dashboard")

MOUNT = "/ui"
Handler = Callable[[Call], Awaitable[Any]]

#: (method, path pattern under /ui, handler, needs the key, state-changing)
ROUTES: list[tuple[str, re.Pattern[str], Handler, bool, bool]] = [
    (m, re.compile(f"^{p}$"), h, auth, post)
    for m, p, h, auth, post in (
        ("GET", "/api/session", api_read.session, False, False),
        ("POST", "/api/login", api_actions.login, False, True),
        ("POST", "/api/logout", api_actions.logout, False, True),
        ("GET", "/api/overview", api_read.overview, True, False),
        ("GET", "/api/requests", api_read.requests_list, True, False),
        ("GET", "/api/requests/(?P<id>[0-9A-Za-z_-]{1,64})", api_read.request_detail, True, False),
        ("POST", "/api/requests/(?P<id>[0-9A-Za-z_-]{1,64})/replay", api_actions.replay, True, True),
        ("GET", "/api/events", api_read.events, True, False),
        ("GET", "/api/savings", api_read.savings, True, False),
        ("GET", "/api/models", api_read.models, True, False),
        ("GET", "/api/pulls", api_read.pulls, True, False),
        ("POST", "/api/models/pull", api_actions.pull, True, True),
        ("POST", "/api/models/load", api_actions.load, True, True),
        ("POST", "/api/models/unload", api_actions.unload, True, True),
        ("POST", "/api/playground/chat", playground.chat, True, True),
        ("POST", "/api/playground/code", playground.code, True, True),
        ("GET", "/api/bench", api_read.bench_sets, True, False),
        ("POST", "/api/bench/report", api_actions.write_report, True, True),
        ("GET", "/bench/report", api_read.bench_report, True, False),
    )
]


def _static_files() -> dict[str, Path]:
    """Every shipped asset by its path under ``static/`` (only these can ever be served)."""
    root = Path(str(resources.files("offload.dashboard") / "static"))
    if not root.is_dir():  # pragma: no cover - a broken install
        return {}
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


class Dashboard:
    """The ``/ui`` app of one gateway (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        settings: ServerSettings,
        *,
        bench_roots: list[Path] | None = None,
        poll_interval_s: float = 0.25,
    ) -> None:
        self.engine = engine
        self.guard = Guard(settings.api_key())
        self.hub = EventHub(engine.journal, lambda e: views.summary(e, engine.redactor), interval_s=poll_interval_s)
        self.pulls = PullJobs(
            lambda: ModelManager.from_engine(engine),
            self.hub.publish,
            on_done=lambda _name: engine.residency.invalidate(),
            can_pull=lambda spec: engine.backend(spec.backend).capabilities.pull,
        )
        #: Where the Bench page looks for result sets (None: ``$OFFLOAD_BENCH_RESULTS`` or ``./bench/results``).
        self.bench_root_override = bench_roots
        self._files = _static_files()
        self._budget: dict[str, Any] | None = None
        self._budget_lock = asyncio.Lock()

    # -- facts shared by the handlers -----------------------------------------------------------------------
    def bench_roots(self) -> list[Path]:
        return list(self.bench_root_override) if self.bench_root_override is not None else bench.default_roots()

    async def budget(self) -> dict[str, Any]:
        """The VRAM (or RAM) budget models share (GPU detection runs once, in a thread)."""
        async with self._budget_lock:
            if self._budget is None:
                b = await asyncio.to_thread(lambda: resolve_budget(self.engine.config, detect_gpus()))
                self._budget = {"gb": b.gb, "source": b.source, "device": b.device, "detail": b.detail}
            return self._budget

    async def loaded_models(self) -> list[dict[str, Any]]:
        """Models in memory: what Ollama-style backends report, plus loaded embedded (in-process) models."""
        rows: list[dict[str, Any]] = []
        try:
            for m in await ModelManager.from_engine(self.engine).ps():
                rows.append(
                    {"name": m.name, "backend": m.backend, "vram_gb": m.vram_gb, "size_gb": m.size_gb,
                     "expires_in": m.expires_in, "in_inventory": m.in_inventory}
                )  # fmt: skip
        except OffloadError as exc:
            log.info("dashboard: ps failed: %s", exc)
        for name, cfg in self.engine.config.backends.items():
            if cfg.kind != "embedded":
                continue
            b = self.engine.backend(name)
            if getattr(b, "loaded", False):
                model = getattr(b, "model_name", name)
                rows.append(
                    {"name": model, "backend": name, "vram_gb": 0.0, "size_gb": None,
                     "expires_in": "when offload stops (in-process)", "in_inventory": True}
                )  # fmt: skip
        return rows

    async def installed_models(self) -> dict[str, set[str] | None]:
        """Per backend that can pull: the model names it has (None when it does not answer)."""
        mgr = ModelManager.from_engine(self.engine)
        names = [n for n in self.engine.config.backends if self.engine.backend(n).capabilities.pull]

        async def one(n: str) -> set[str] | None:
            try:
                return await asyncio.wait_for(mgr.installed(n), 10)
            except (OffloadError, TimeoutError):
                return None

        found = await asyncio.gather(*(one(n) for n in names))
        return dict(zip(names, found, strict=True))

    # -- ASGI -----------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        req = Request(scope, receive, send, "openai")
        sub = scope["path"][len(MOUNT) :]
        try:
            if sub.startswith("/api/") or sub == "/bench/report":
                await self._api(req, sub)
            else:
                await self._static(req, sub)
        except ClientDisconnected:
            return
        except OffloadError as exc:
            await send_json_reply(req, exc.http_status, error_body(exc))
        except Exception as exc:  # a bug: log it, answer a clean 500
            ref = f"{time.time_ns():x}"[-10:]
            log.exception("dashboard: internal error on %s %s (ref %s)", req.method, req.path, ref)
            err = OffloadError(f"internal error in the dashboard (ref {ref}, {type(exc).__name__})",
                               hint="see the offload serve log")  # fmt: skip
            try:
                await send_json_reply(req, 500, error_body(err))
            except Exception:  # the response had already started
                pass

    async def _api(self, req: Request, sub: str) -> None:
        allowed: list[str] = []
        for method, pattern, handler, needs_key, changes in ROUTES:
            m = pattern.match(sub)
            if m is None:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            headers = req.headers
            if changes:
                self.guard.check_csrf(headers)
            else:
                self.guard.check_same_origin(headers, state_changing=False)
            if needs_key:
                self.guard.require(headers)
            result = await handler(Call(self, req, m.groupdict()))
            if result is None:  # the handler streamed its own response
                return
            reply = result if isinstance(result, Reply) else Reply(result)
            if isinstance(reply.body, bytes):
                await send_bytes(req.send, reply.status, reply.body, reply.content_type, reply.headers)
            else:
                await send_json_reply(req, reply.status, reply.body, reply.headers)
            return
        if allowed:
            raise MethodNotAllowed(f"{req.method} is not allowed on {req.path}", hint=f"use {', '.join(allowed)}")
        raise NotFound(f"the dashboard has no API {req.path}", hint="see docs/dashboard.md")

    async def _static(self, req: Request, sub: str) -> None:
        if req.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{req.method} is not allowed on {req.path}", hint="use GET")
        if sub == "":
            await send_bytes(req.send, 308, b"", "text/plain", [(b"location", f"{MOUNT}/".encode()), *BASE_HEADERS])
            return
        name = "index.html" if sub == "/" else sub[len("/static/") :] if sub.startswith("/static/") else None
        path = self._files.get(name) if name else None
        if path is None:
            raise NotFound(f"the dashboard has no page {req.path}", hint=f"open {MOUNT}/")
        body = await asyncio.to_thread(path.read_bytes)
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "image/svg+xml"):
            ctype += "; charset=utf-8"
        if path.suffix == ".js":
            ctype = "text/javascript; charset=utf-8"
        headers = [*BASE_HEADERS, (b"cache-control", b"no-cache")]
        if path.suffix == ".html":
            headers.append((b"content-security-policy", PAGE_CSP.encode()))
        if req.method == "HEAD":
            await req.send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", ctype.encode()), *headers]}
            )
            await req.send({"type": "http.response.body", "body": b""})
            return
        await send_bytes(req.send, 200, body, ctype, headers)

    async def aclose(self) -> None:
        """Stop the live-event poller and cancel running pulls."""
        await self.pulls.aclose()
        await self.hub.aclose()


__all__ = ["MOUNT", "ROUTES", "API_HEADERS", "Dashboard"]
