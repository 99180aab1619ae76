"""Mock API responses: ``offload mock "GET /api/users?page=2" [--schema FILE]`` → a realistic, validated response.

The request line decides the shape: a collection (``GET /api/users``, or any GET with ``page``/``limit``...)
gets ``{"data": [...], "pagination": {...}}``; a single resource (``GET /api/users/42``) gets the object;
``POST`` a created object. ``--schema`` is the schema of one resource (``as_body=True``: of the whole body).
Besides the schema, the answer must agree with the request: the status fits the method, the pagination
matches the requested page and size and is self-consistent, and a resource fetched by id carries that id.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit

from offload.errors import InvalidRequest
from offload.routing.verdict import Verdict
from offload.workers.common import Generation, ValueVerifier, check_json_schema, generate_json

if TYPE_CHECKING:
    from offload.engine import Engine, RequestContext

__all__ = ["MockRequest", "MockResult", "mock_response", "parse_request_line", "response_schema"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ID = re.compile(r"^(?:\d+|[0-9a-fA-F-]{8,}|[A-Za-z]{1,4}_[A-Za-z0-9]+|\{\w+\}|:\w+)$")
_STATUS = {"GET": (200,), "POST": (201, 200), "PUT": (200,), "PATCH": (200,), "DELETE": (200, 204)}
_PAGE_SIZE_KEYS = ("per_page", "page_size", "limit", "size")
MAX_PAGE = 50
Shape = Literal["collection", "item", "created", "deleted"]


@dataclass(frozen=True)
class MockRequest:
    """A parsed request line."""

    method: str
    path: str
    query: dict[str, str]
    shape: Shape
    page: int = 1
    per_page: int = 10
    resource_id: str | None = None

    @property
    def line(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.method} {self.path}" + (f"?{q}" if q else "")


def _int_param(query: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    if key not in query:
        return default
    try:
        value = int(query[key])
    except ValueError as exc:
        raise InvalidRequest(f"query parameter {key}={query[key]!r} is not a number") from exc
    if not low <= value <= high:
        raise InvalidRequest(f"query parameter {key}={value} is out of range ({low}..{high})")
    return value


def parse_request_line(line: str) -> MockRequest:
    """``"GET /api/users?page=2"`` (the method may be left out: GET) as a :class:`MockRequest`."""
    parts = line.strip().split()
    if len(parts) == 1:
        parts = ["GET", parts[0]]
    if len(parts) != 2 or parts[0].upper() not in METHODS or not parts[1].startswith("/"):
        raise InvalidRequest(f"cannot read the request {line!r}",
                             hint=f'write METHOD /path?query, e.g. "GET /api/users?page=2" (methods: {", ".join(METHODS)})')  # fmt: skip
    method = parts[0].upper()
    url = urlsplit(parts[1])
    query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    segments = [s for s in url.path.split("/") if s]
    last = segments[-1] if segments else ""
    has_id = bool(_ID.match(last)) and len(segments) > 1
    paged = any(k in query for k in ("page", "offset", "cursor", *_PAGE_SIZE_KEYS))
    shape: Shape
    if method == "POST":
        shape = "created"
    elif method == "DELETE":
        shape = "deleted"
    elif method == "GET" and (paged or not has_id):
        shape = "collection"
    else:
        shape = "item"
    size_key = next((k for k in _PAGE_SIZE_KEYS if k in query), "per_page")
    return MockRequest(
        method, url.path or "/", query, shape, page=_int_param(query, "page", 1, 1, 1_000_000),
        per_page=_int_param(query, size_key, 10, 1, MAX_PAGE), resource_id=last if has_id else None,
    )  # fmt: skip


_ANY_OBJECT: dict[str, Any] = {"type": "object", "minProperties": 1}


def response_schema(req: MockRequest, schema: dict[str, Any] | None, *, as_body: bool = False) -> dict[str, Any]:
    """The JSON schema of the whole answer ``{"status": ..., "body": ...}`` for ``req``."""
    item = schema or _ANY_OBJECT
    if as_body and schema is not None:
        body = schema
    elif req.shape == "collection":
        # What the request fixes is constant in the schema (so decoding enforces it); the rest is checked.
        page_props = {
            "page": {"type": "integer", "enum": [req.page]},
            "per_page": {"type": "integer", "enum": [req.per_page]},
            "total": {"type": "integer", "minimum": (req.page - 1) * req.per_page + 1},
            "total_pages": {"type": "integer", "minimum": req.page},
        }
        body = {
            "type": "object", "required": ["data", "pagination"],
            "properties": {
                "data": {"type": "array", "items": item, "minItems": 1, "maxItems": req.per_page},
                "pagination": {"type": "object", "properties": page_props, "required": list(page_props)},
            },
        }  # fmt: skip
    elif req.shape == "deleted":
        body = {"type": ["object", "null"]}
    else:
        body = item
    status = {"type": "integer", "enum": list(_STATUS[req.method])}
    return {"type": "object", "properties": {"status": status, "body": body}, "required": ["status", "body"],
            "additionalProperties": False}  # fmt: skip


def _consistency(req: MockRequest, value: Any, as_body: bool) -> Verdict:
    body = value["body"]
    if req.shape == "collection" and not as_body:
        data, pg = body["data"], body["pagination"]
        problems = []
        if pg["page"] != req.page:
            problems.append(f"pagination.page is {pg['page']}, the request asks for page {req.page}")
        if pg["per_page"] != req.per_page:
            problems.append(f"pagination.per_page is {pg['per_page']}, the request asks for {req.per_page}")
        if pg["per_page"] and pg["total_pages"] != math.ceil(pg["total"] / pg["per_page"]):
            problems.append(f"total_pages must be ceil(total / per_page) = {math.ceil(pg['total'] / pg['per_page'])}")
        if pg["total_pages"] < req.page:
            problems.append(f"total_pages ({pg['total_pages']}) must be at least the requested page {req.page}")
        elif req.page < pg["total_pages"] and len(data) != req.per_page:
            problems.append(f"a page before the last holds exactly {req.per_page} items, not {len(data)}")
        elif not data:
            problems.append("the requested page must hold at least one item")
        if problems:
            return Verdict(
                False, "mock_api", "; ".join(problems), feedback="Fix the pagination: " + "; ".join(problems)
            )
    if (
        req.resource_id
        and req.shape == "item"
        and isinstance(body, dict)
        and str(body.get("id", req.resource_id)) != req.resource_id
    ):
        msg = f"body.id is {body['id']!r} but the request is for id {req.resource_id}"
        return Verdict(False, "mock_api", msg, feedback=msg + "; use that id.")
    return Verdict(True, "mock_api", f"{req.shape} response consistent with {req.line}")


@dataclass
class MockResult:
    """A generated response."""

    request: MockRequest
    status: int
    body: Any
    generation: Generation


async def mock_response(
    engine: Engine,
    request_line: str,
    *,
    schema: dict[str, Any] | None = None,
    as_body: bool = False,
    hint: str = "",
    model: str = "auto",
    ctx: RequestContext | None = None,
) -> MockResult:
    """A realistic JSON response to ``request_line``, valid against the schema and consistent with the request."""
    req = parse_request_line(request_line)
    if schema is not None:
        check_json_schema(schema, "response schema")
    full = response_schema(req, schema, as_body=as_body)
    what = {"collection": f"page {req.page} of a collection ({req.per_page} per page) with pagination",
            "item": "one resource", "created": "the created resource", "deleted": "the deletion result"}[req.shape]  # fmt: skip
    prompt = (
        f"You are a REST API. Answer the request `{req.line}` with realistic, varied, plausible data: {what}.\n"
        'Reply with JSON {"status": <HTTP status>, "body": <response body>}.'
        + (f"\nAbout the API: {hint}" if hint else "")
    )
    gen = await generate_json(
        engine, worker="mock", kind="mock_api", prompt=prompt, schema=full, model=model,
        verifiers=[ValueVerifier("mock_api", lambda v: _consistency(req, v, as_body))],
        max_tokens=min(4096, 120 * req.per_page + 256), temperature=0.7, ctx=ctx,
    )  # fmt: skip
    return MockResult(req, int(gen.value["status"]), gen.value["body"], gen)
