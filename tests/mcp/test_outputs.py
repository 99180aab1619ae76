"""Structured output: every tool's ``outputSchema``, results that conform to it, errors that still reach clients.

Driven by the official ``mcp`` client connected in-process to the server (a real client session over memory
streams); ``test_http.py`` and ``test_stdio.py`` check the same over the real transports.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jsonschema
import pytest
from mcp import Client
from pydantic import BaseModel

from offload.config import ModelSpec
from offload.engine import Engine
from offload.mcp.outputs import (
    AttemptInfo,
    BackendDetails,
    InventoryModel,
    LoadedModelRow,
    PsResult,
    RouteProfile,
    Saving,
    SavingsTotals,
)
from offload.mcp.server import build_server
from offload.mcp.tools import OffloadTools
from offload.models.ops import LoadedModel
from offload.routing.classify_profile import TaskProfile
from offload.store.ledger import LedgerTotals
from offload.types import Attempt, ModelInfo
from tests.fakes.ollama import FakeOllama
from tests.mcp.conftest import conforms, error_body

SCHEMA = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer", "minimum": 1}}}
#: One successful call of each tool (several for tools whose result has optional parts).
CASES: list[tuple[str, dict[str, Any]]] = [
    ("list_models", {}),
    ("show_model", {"name": "llama3.2"}),  # Ollama: backend_details from /api/show
    ("show_model", {"name": "local-coder"}),  # scripted backend: backend_details null
    ("pull_model", {"name": "coder-7b"}),
    ("ps", {}),
    ("chat", {"messages": [{"role": "user", "content": "hello"}]}),
    ("run_task", {"task": "Write add(a, b) in Python.", "tests": "assert add(2, 3) == 5"}),
    ("review_code", {"code": "def div(a, b):\n    return a / b\n"}),
    ("generate_fixtures", {"json_schema": SCHEMA, "count": 2}),
    ("savings_report", {}),
    ("savings_report", {"period": "7d", "by": "day"}),
    ("savings_report", {"by": "model"}),
    ("savings_report", {"period": "today", "by": "kind"}),
    ("explain_route", {"prompt": "Review this diff", "kind": "review"}),
]


@asynccontextmanager
async def session(engine: Engine, tools: OffloadTools | None = None) -> AsyncIterator[tuple[Client, dict[str, Any]]]:
    """A client session on the server, with every tool's output schema."""
    async with Client(build_server(engine, tools)) as client:
        yield client, {t.name: t.output_schema for t in (await client.list_tools()).tools}


def _objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema's root object and every object in its ``$defs``."""
    return [schema, *schema.get("$defs", {}).values()]


def _target(schema: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
    """What a ``{"$ref": "#/$defs/X"}`` property points to (pydantic leaves a description equal to it there)."""
    ref = sub.get("$ref", "")
    return schema["$defs"][ref.removeprefix("#/$defs/")] if ref.startswith("#/$defs/") else {}


async def test_every_tool_declares_a_described_object_output_schema(engine: Engine) -> None:
    async with session(engine) as (_, schemas):
        pass
    assert set(schemas) == {name for name, _ in CASES}
    for name, schema in schemas.items():
        assert schema is not None and schema["type"] == "object", name
        jsonschema.validators.validator_for(schema).check_schema(schema)
        assert schema["description"] and schema["required"], name
        for obj in _objects(schema):
            for prop, sub in obj["properties"].items():
                described = sub.get("description") or _target(schema, sub).get("description")
                assert described, f"{name}: {obj['title']}.{prop} has no description"
    answer = {"answer", "verdict", "route", "usage", "saving", "journal_id"}
    assert set(schemas["chat"]["required"]) == set(schemas["run_task"]["required"]) == answer
    assert set(schemas["review_code"]["required"]) == answer - {"answer"} | {"review"}
    assert set(schemas["generate_fixtures"]["required"]) == answer - {"answer"} | {"records", "count"}
    assert schemas["run_task"]["properties"]["verdict"]["enum"] == ["verified", "unverified", "failed", "not_run"]
    # keys that are sometimes absent are optional, and never null when present
    saving = schemas["run_task"]["$defs"]["Saving"]
    assert "cloud_spend_usd" not in saving["required"] and saving["properties"]["cloud_spend_usd"]["type"] == "number"
    report = schemas["savings_report"]
    assert set(report["required"]) == {"period", "totals"}
    assert all(report["properties"][f"by_{b}"]["type"] == "array" for b in ("day", "model", "kind"))
    shown = schemas["show_model"]
    assert {"type": "null"} in shown["properties"]["backend_details"]["anyOf"]
    assert "parameter_size" not in shown["$defs"]["BackendDetails"]["required"]
    assert schemas["explain_route"]["$defs"]["RouteSkip"]["properties"]["reason"]["enum"]


async def test_every_tool_result_conforms_to_its_output_schema(
    engine: Engine, fake_ollama: tuple[FakeOllama, str]
) -> None:
    fake, _ = fake_ollama
    fake.models.pop("qwen2.5-coder:7b", None)
    results: dict[str, list[dict[str, Any]]] = {}
    async with session(engine) as (client, schemas):
        for name, args in CASES:
            results.setdefault(name, []).append(conforms(await client.call_tool(name, args), schemas[name]))
    assert results["show_model"][0]["backend_details"]["context_window"] == 131072
    assert results["show_model"][1]["backend_details"] is None
    assert results["pull_model"][0]["status"] == "pulled"
    assert results["run_task"][0]["saving"]["cloud_spend_usd"] == 0.0  # journaled: the key is there
    assert len(results["generate_fixtures"][0]["records"]) == 2
    plain, by_day, by_model, by_kind = results["savings_report"]
    assert set(plain) == {"period", "totals"}  # no breakdown asked for: no by_* key (not null)
    assert set(by_day) - set(plain) == {"by_day"} and set(by_model) - set(plain) == {"by_model"}
    assert set(by_kind) - set(plain) == {"by_kind"} and by_kind["period"] == "today"
    assert results["explain_route"][0]["profile"]["kind"] == "review"


async def test_errors_reach_the_client_as_error_results_without_structured_content(engine: Engine) -> None:
    async with session(engine) as (client, schemas):
        missing = await client.call_tool("show_model", {"name": "gpt-17"})
        bad = await client.call_tool("chat", {"messages": []})
        engine_error = await client.call_tool("chat", {"messages": [{"role": "system", "content": "only"}]})
        after = await client.call_tool("ps", {})
    assert error_body(missing)["code"] == "model_not_found" and error_body(missing)["hint"]
    assert error_body(bad)["code"] == "invalid_arguments" and error_body(bad)["fields"][0]["field"] == "messages"
    assert error_body(engine_error)["code"] == "invalid_request"
    conforms(after, schemas["ps"])
    # why errors carry no structuredContent: the error body cannot satisfy a success schema, and clients that
    # validate structuredContent even on errors would report a schema mismatch instead of the error
    for result, tool in ((missing, "show_model"), (bad, "chat")):
        body = {"error": error_body(result)}
        assert not jsonschema.validators.validator_for(schemas[tool])(schemas[tool]).is_valid(body)


class _Broken(OffloadTools):
    """Tools whose ps crashes, or builds a result that does not match its output schema."""

    def __init__(self, engine: Engine, how: str) -> None:
        super().__init__(engine)
        self.how = how

    async def ps(self) -> PsResult:
        """Models loaded in memory now."""
        if self.how == "crash":
            raise RuntimeError("disk on fire, token sk-ant-api03-abcdefghijklmnopqrstuvwx")
        return PsResult.model_validate({"loaded": "not a list", "total_vram_gb": 0})


@pytest.mark.parametrize("how", ["crash", "bad_result"])
async def test_a_failing_tool_is_an_internal_error_that_leaks_nothing(
    engine: Engine, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="offload.mcp")
    async with session(engine, _Broken(engine, how)) as (client, _):
        e = error_body(await client.call_tool("ps", {}))
    assert e == {"code": "internal_error", "message": "ps failed unexpectedly", "hint": "see the server's log"}
    assert any(r.exc_info for r in caplog.records if r.name == "offload.mcp")  # the traceback stays on the server


def test_saving_leaves_out_an_unset_cloud_spend_instead_of_sending_null() -> None:
    saving = Saving(avoided_usd=0.0, reference_model=None, local=None, counted=False)
    assert saving.model_dump(mode="json") == {"avoided_usd": 0.0, "reference_model": None, "local": None,
                                              "counted": False}  # fmt: skip
    assert Saving(**saving.model_dump(), cloud_spend_usd=0.5).model_dump()["cloud_spend_usd"] == 0.5


@pytest.mark.parametrize(
    ("model", "source", "left_out"),
    [
        (InventoryModel, set(ModelSpec.model_fields), set()),
        (AttemptInfo, set(Attempt.model_fields), set()),
        (LoadedModelRow, {f.name for f in dataclasses.fields(LoadedModel)}, set()),
        (SavingsTotals, {f.name for f in dataclasses.fields(LedgerTotals)}, set()),
        (BackendDetails, set(ModelInfo.model_fields) - {"details"}, set()),
        (RouteProfile, {f.name for f in dataclasses.fields(TaskProfile)},
         {"expected_output_tokens", "code_lines", "files", "scenario", "model"}),
    ],
)  # fmt: skip
def test_result_models_keep_up_with_what_they_report(
    model: type[BaseModel], source: set[str], left_out: set[str]
) -> None:
    """A field added to the engine's own types must be added to the result model too (or left out on purpose)."""
    missing = source - left_out - set(model.model_fields)
    assert not missing, f"{model.__name__} misses {missing}"
