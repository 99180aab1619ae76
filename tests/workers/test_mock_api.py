"""Mock API: request-line parsing, response schemas, consistency checks with repair and escalation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offload.errors import InvalidRequest
from offload.workers.mock_api import mock_response, parse_request_line, response_schema
from tests.workers.conftest import Rig

USER = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
        "required": ["id", "name"]}  # fmt: skip


def page(page: int, per_page: int, total: int, n: int | None = None) -> str:
    n = per_page if n is None else n
    data = [{"id": (page - 1) * per_page + i + 1, "name": f"User {i}"} for i in range(n)]
    total_pages = -(-total // per_page)
    pg = {"page": page, "per_page": per_page, "total": total, "total_pages": total_pages}
    return json.dumps({"status": 200, "body": {"data": data, "pagination": pg}})


@pytest.mark.parametrize(
    ("line", "shape", "page", "per_page", "rid"),
    [
        ("GET /api/users?page=2", "collection", 2, 10, None),
        ("/api/users", "collection", 1, 10, None),
        ("get /api/users?limit=5", "collection", 1, 5, None),
        ("GET /api/users/42", "item", 1, 10, "42"),
        ("PATCH /api/users/42", "item", 1, 10, "42"),
        ("POST /api/users", "created", 1, 10, None),
        ("DELETE /api/users/7", "deleted", 1, 10, "7"),
    ],
)
def test_request_lines(line: str, shape: str, page: int, per_page: int, rid: str | None) -> None:
    req = parse_request_line(line)
    assert (req.shape, req.page, req.per_page, req.resource_id) == (shape, page, per_page, rid)


@pytest.mark.parametrize("line", ["", "FETCH /x", "GET users", "GET /a?page=zero", "GET /a?page=0", "GET /a?limit=500"])
def test_bad_request_lines(line: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_request_line(line)


def test_response_schema_wraps_a_resource_schema_in_a_page() -> None:
    schema = response_schema(parse_request_line("GET /api/users?page=2&per_page=3"), USER)
    body = schema["properties"]["body"]
    assert body["properties"]["data"]["items"] == USER and body["properties"]["data"]["maxItems"] == 3
    assert schema["properties"]["status"]["enum"] == [200]
    whole = response_schema(parse_request_line("GET /api/users"), USER, as_body=True)
    assert whole["properties"]["body"] == USER


async def test_collection_page_is_verified(rig: Rig) -> None:
    rig.script(small=[page(2, 10, 45)])
    result = await mock_response(rig.engine, "GET /api/users?page=2", schema=USER)
    assert result.status == 200 and len(result.body["data"]) == 10
    assert result.generation.response.verdict == "verified"
    assert rig.small.requests[0].metadata["kind"] == "mock_api"


async def test_inconsistent_pagination_is_repaired(rig: Rig) -> None:
    wrong_page = page(1, 10, 45)
    bad_total = json.loads(page(2, 10, 45))
    bad_total["body"]["pagination"]["total_pages"] = 9
    rig.script(small=[wrong_page, json.dumps(bad_total)], big=[page(2, 10, 45)])
    result = await mock_response(rig.engine, "GET /api/users?page=2", schema=USER)
    attempts = result.generation.response.attempts
    assert "the request asks for page 2" in attempts[0].detail
    assert "ceil(total / per_page)" in attempts[1].detail
    assert result.generation.response.model == "big"


async def test_item_id_must_match_the_path(rig: Rig) -> None:
    rig.script(small=[json.dumps({"status": 200, "body": {"id": 7, "name": "x"}}),
                      json.dumps({"status": 200, "body": {"id": 42, "name": "Ada"}})])  # fmt: skip
    result = await mock_response(rig.engine, "GET /api/users/42", schema=USER)
    assert result.body == {"id": 42, "name": "Ada"}
    assert "request is for id 42" in result.generation.response.attempts[0].detail


async def test_schema_violations_are_rejected(rig: Rig) -> None:
    no_name: Any = {"status": 200, "body": {"id": 42}}
    rig.script(small=[json.dumps(no_name), json.dumps({"status": 200, "body": {"id": 42, "name": "Ada"}})])
    result = await mock_response(rig.engine, "GET /api/users/42", schema=USER)
    assert "'name' is a required property" in result.generation.response.attempts[0].detail


async def test_invalid_schema_is_refused_before_any_call(rig: Rig) -> None:
    with pytest.raises(InvalidRequest, match="not valid JSON Schema"):
        await mock_response(rig.engine, "GET /api/users", schema={"type": 12})
    assert rig.small.requests == []
