"""Small HTTP helpers of the dashboard: the call object handlers get, JSON bodies, replies and headers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from offload.errors import InvalidRequest, OffloadError
from offload.server.asgi import Request, send_bytes

if TYPE_CHECKING:
    from offload.dashboard.app import Dashboard

#: Headers on every dashboard response.
BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
#: The pages load only their own scripts, styles and API; nothing inline, nothing from elsewhere.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Bench reports are self-contained HTML (inline styles, data: images) and run no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'none'"
API_HEADERS = [*BASE_HEADERS, (b"cache-control", b"no-store")]


@dataclass
class Reply:
    """A handler's answer when it is not a plain ``200`` JSON object."""

    body: Any
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: ``bytes`` bodies are sent as they are with this type; anything else is sent as JSON.
    content_type: str = "application/json"


@dataclass
class Call:
    """One request to the dashboard as a handler sees it."""

    dash: Dashboard
    req: Request
    params: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        return self.req.headers

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (the last value of each; blank values dropped)."""
        parsed = parse_qs(self.req.query, keep_blank_values=False)
        return {k: v[-1] for k, v in parsed.items()}

    async def json(self) -> dict[str, Any]:
        """The body as a JSON object (an empty body is ``{}``)."""
        raw = await self.req.body()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise InvalidRequest("the body is not valid JSON", hint="send a JSON object") from exc
        if not isinstance(data, dict):
            raise InvalidRequest("the body must be a JSON object", hint='e.g. {"model": "..."}')
        return data


def error_body(exc: OffloadError) -> dict[str, Any]:
    """``{"error": {"code", "message", "hint"}}`` — the dashboard API's error shape."""
    return {"error": exc.to_dict()}


def as_str(data: dict[str, Any], key: str, *, required: bool = True, limit: int = 200) -> str | None:
    """A string field of a JSON body (stripped, length-limited)."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRequest(f"{key!r} is required", hint=f"send a JSON body with a {key!r} string")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"{key!r} must be a string of at most {limit} characters")
    return value.strip()


def as_int(query: dict[str, str], key: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter clamped to ``[lo, hi]``."""
    raw = query.get(key)
    if raw is None:
        return default
    try:
        return max(lo, min(hi, int(raw)))
    except ValueError as exc:
        raise InvalidRequest(f"{key} must be an integer", hint=f"e.g. ?{key}={default}") from exc


async def send_json_reply(req: Request, status: int, obj: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send ``obj`` as JSON with the API's headers (``no-store``, ``nosniff`` ...)."""
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    await send_bytes(req.send, status, body, "application/json", [*API_HEADERS, *(extra or [])])
