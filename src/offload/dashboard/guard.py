"""The dashboard's own door: who may read its API and which requests may change state.

The gateway's :class:`~offload.server.security.SecurityMiddleware` still checks every ``/ui`` request's
``Host`` and ``Origin`` (DNS rebinding, foreign pages). On top of that the dashboard enforces:

- **Authentication** (only when the gateway has an API key, i.e. it may be bound beyond loopback): the API
  takes the key as ``Authorization: Bearer`` / ``x-api-key`` (scripts) or a session cookie that
  ``POST /ui/api/login`` sets after checking the key (browsers). The static pages hold no data and are public.
- **Cross-site protection** of every state-changing request (``POST``): the per-server CSRF token in the
  ``x-offload-csrf`` header (a foreign page can neither read the token nor send a custom header without a CORS
  preflight, which the dashboard never grants), an ``Origin`` equal to the dashboard's own origin when the
  browser sends one, and ``Sec-Fetch-Site: same-origin`` when the browser sends that. Reads of the API from
  another site are refused too.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from offload.errors import AuthError, InvalidRequest

CSRF_HEADER = "x-offload-csrf"
SESSION_COOKIE = "offload_ui_session"
SESSION_TTL_S = 12 * 3600.0


class CrossSiteRefused(InvalidRequest):
    """A state-changing (or API) request that does not come from the dashboard's own pages."""

    code = "cross_site_refused"
    http_status = 403


@dataclass(frozen=True)
class Caller:
    """What the guard learned about one request."""

    authenticated: bool
    via: str  # "open" (no key configured), "key", "session", or "" when not authenticated


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode("latin-1", "replace"), b.encode("latin-1", "replace"))


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


class Guard:
    """Sessions, the CSRF token and the same-origin rules of one dashboard (one per server process)."""

    def __init__(self, api_key: str | None, *, clock: Callable[[], float] = time.time) -> None:
        self._key = api_key or None
        #: Per-server token every state-changing request must echo in the ``x-offload-csrf`` header.
        self.csrf_token = secrets.token_urlsafe(32)
        self._sessions: dict[str, float] = {}
        self._now = clock

    @property
    def auth_required(self) -> bool:
        """True when the gateway has an API key (and so the dashboard API needs it too)."""
        return self._key is not None

    # -- authentication -------------------------------------------------------------------------------------
    def caller(self, headers: dict[str, str]) -> Caller:
        """Who is calling: the key in a header, a live session cookie, or nobody."""
        if self._key is None:
            return Caller(True, "open")
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if _same(token, self._key) or _same(headers.get("x-api-key"), self._key):
            return Caller(True, "key")
        sid = _cookie(headers.get("cookie"), SESSION_COOKIE)
        if sid is not None:
            expires = self._sessions.get(sid)
            if expires is not None and expires > self._now():
                return Caller(True, "session")
            self._sessions.pop(sid, None)
        return Caller(False, "")

    def require(self, headers: dict[str, str]) -> Caller:
        """The caller, or :class:`AuthError` when a key is configured and none was shown."""
        who = self.caller(headers)
        if not who.authenticated:
            raise AuthError(
                "the dashboard needs the gateway's API key",
                hint="sign in on the dashboard page with the key from $OFFLOAD_API_KEY, "
                "or send it as 'Authorization: Bearer <key>'",
            )
        return who

    def login(self, key: str) -> str | None:
        """A new session id when ``key`` is the gateway's key, else None."""
        if self._key is None or not _same(key, self._key):
            return None
        now = self._now()
        self._sessions = {s: t for s, t in self._sessions.items() if t > now}
        sid = secrets.token_urlsafe(32)
        self._sessions[sid] = now + SESSION_TTL_S
        return sid

    def logout(self, headers: dict[str, str]) -> None:
        """Forget the caller's session (if any)."""
        sid = _cookie(headers.get("cookie"), SESSION_COOKIE)
        if sid is not None:
            self._sessions.pop(sid, None)

    @staticmethod
    def session_cookie(sid: str, *, secure: bool, max_age: int = int(SESSION_TTL_S)) -> bytes:
        """The ``Set-Cookie`` value of a session (HttpOnly, SameSite=Strict, scoped to ``/ui``)."""
        value = f"{SESSION_COOKIE}={sid}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age}"
        return (value + ("; Secure" if secure else "")).encode("latin-1")

    # -- cross-site rules -----------------------------------------------------------------------------------
    @staticmethod
    def check_same_origin(headers: dict[str, str], *, state_changing: bool) -> None:
        """Refuse a request a browser marks as coming from another origin (another port counts)."""
        site = headers.get("sec-fetch-site")
        allowed = ("same-origin",) if state_changing else ("same-origin", "none")
        if site is not None and site not in allowed:
            raise CrossSiteRefused(
                f"refused a {site} request to the dashboard",
                hint="use the dashboard's own pages; other sites may not call its API",
            )
        origin = headers.get("origin")
        if origin is not None:
            host = headers.get("host", "").lower()
            netloc = origin.split("://", 1)[1].rstrip("/").lower() if "://" in origin else ""
            if not host or netloc != host:
                raise CrossSiteRefused(
                    "refused a request from another origin",
                    hint="state-changing dashboard actions only work from the dashboard's own pages",
                )

    def check_csrf(self, headers: dict[str, str]) -> None:
        """Refuse a state-changing request without the per-server CSRF token (and from another origin)."""
        self.check_same_origin(headers, state_changing=True)
        if not _same(headers.get(CSRF_HEADER), self.csrf_token):
            raise CrossSiteRefused(
                "missing or wrong CSRF token",
                hint=f"send the token from GET /ui/api/session in the {CSRF_HEADER!r} header",
            )
