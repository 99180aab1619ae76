"""The Workers facade: sync calls on an Offload handle (its engine, journal and event loop)."""

from __future__ import annotations

import json
from pathlib import Path

from offload.api import Offload
from offload.backends.scripted import ScriptedBackend
from offload.workers import Workers
from tests.workers.conftest import Rig


def test_sync_facade(rig: Rig, tmp_path: Path) -> None:
    backend = ScriptedBackend("local", models=["small"])
    backend.add(json.dumps({"status": 200, "body": {"id": 42, "name": "Ada"}}))
    backend.add(json.dumps({"records": [{"n": 1}, {"n": 2}]}))
    with Offload(rig.config, backends={"local": backend}) as o:
        w = Workers(o)
        assert w.mock("GET /api/users/42").body == {"id": 42, "name": "Ada"}
        schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
        result = w.fixtures(schema, 2, tmp_path / "n.jsonl", batch_size=2)
        assert result.total == 2
        assert w.verify(str(tmp_path / "n.jsonl")).ok
        note = w.remember("the staging host is stage-3")
        assert w.recall("staging host", k=1)[0].note.id == note
