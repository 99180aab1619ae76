"""Fuzz the served OpenAPI description: requests generated from (and around) its schemas never get a 5xx.

A small schema-driven generator with hypothesis (the same idea as schemathesis, which the project can run too:
see docs/gateway.md). Each endpoint gets bodies valid by the schema, bodies with random JSON in place of any
field, and random JSON documents. Every answer must be < 500 and JSON (or a stream) in the dialect's shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offload.backends.scripted import ScriptedBackend
from offload.config import parse_config
from offload.engine import Engine
from offload.server.app import create_app
from offload.server.openapi import openapi_schema
from tests.fakes.server import serve_app
from tests.server.conftest import MODEL, base_config

DOC = openapi_schema()
SCHEMAS = DOC["components"]["schemas"]
POSTS = [
    (p, ops["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1])
    for p, ops in DOC["paths"].items()
    if "post" in ops
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
names = st.sampled_from([MODEL, "auto", "claude-sonnet-5", "no-such-model", ""]) | st.text(max_size=12)


def from_schema(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for values valid by the subset of JSON Schema the gateway's description uses."""
    if "$ref" in schema:
        return from_schema(SCHEMAS[schema["$ref"].rsplit("/", 1)[1]], depth)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, depth) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        return st.text(max_size=30)
    if kind == "integer":
        return st.integers(-(2**33), 2**33)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), depth + 1), max_size=3)
    if kind == "object" and "properties" in schema and depth < 4:
        props = schema["properties"]
        required = schema.get("required", [])
        fixed = {k: from_schema(v, depth + 1) for k, v in props.items() if k in required}
        optional = {k: from_schema(v, depth + 1) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries(fixed, optional=optional)
    return st.dictionaries(st.text(max_size=8), json_values, max_size=3)


def bodies(schema_name: str) -> st.SearchStrategy[Any]:
    valid = from_schema(SCHEMAS[schema_name])
    with_model = valid.flatmap(lambda d: names.map(lambda n: {**d, "model": n}) if isinstance(d, dict) else st.just(d))
    broken = st.tuples(valid, st.text(max_size=12), json_values).map(
        lambda t: {**t[0], t[1]: t[2]} if isinstance(t[0], dict) else t[0]
    )
    return st.one_of(valid, with_model, broken, json_values)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cfg = parse_config(base_config())
    engine = Engine(
        cfg,
        backends={"local": ScriptedBackend("local", default="fuzzed answer", models=[MODEL])},
        journal_path=tmp_path_factory.mktemp("fuzz") / "journal.db",
    )
    with serve_app(create_app(engine)) as u:
        yield u
    engine.journal.close()


@pytest.mark.parametrize("path, schema_name", POSTS, ids=[p for p, _ in POSTS])
def test_no_server_errors(url: str, path: str, schema_name: str) -> None:
    client = httpx.Client(base_url=url, timeout=10)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(body=bodies(schema_name))
    def check(body: Any) -> None:
        r = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
        assert r.status_code < 500, (r.status_code, r.text[:300], body)
        assert "Traceback" not in r.text
        if r.headers.get("content-type", "").startswith("application/json"):
            r.json()

    try:
        check()
    finally:
        client.close()


def test_get_endpoints(url: str) -> None:
    for path, ops in DOC["paths"].items():
        if "get" in ops:
            r = httpx.get(url + path)
            assert r.status_code == 200, (path, r.text)
