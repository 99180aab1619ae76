"""Signed provenance: records for generations and files; tampering with output, prompt hash or signature is
detected and named; untrusted keys are reported; the key is private to the user."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from offload.errors import InvalidRequest
from offload.workers.common import generate_json, offload_home
from offload.workers.provenance import KEY_FILE, SIDECAR_SUFFIX, RecordStore, load_key, sign_artifact
from offload.workers.provenance_check import find_record, verify_record, verify_target
from tests.workers.conftest import Rig

SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}


def failed(report: object) -> dict[str, str]:
    return {c.name: c.detail for c in report.problems}  # type: ignore[attr-defined]


async def generation(rig: Rig) -> str:
    rig.script(small=['{"x": 41}'])
    gen = await generate_json(rig.engine, worker="test", kind="chat", prompt="give x", schema=SCHEMA)
    assert gen.provenance is not None
    return gen.provenance.id


def test_key_is_created_once_and_private() -> None:
    k1 = load_key()
    path = offload_home() / "keys" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    k2 = load_key()
    assert k1.public_key().public_bytes_raw() == k2.public_key().public_bytes_raw()


async def test_generation_record_verifies(rig: Rig) -> None:
    rid = await generation(rig)
    report = verify_target(rid, journal=rig.engine.journal)
    assert report.ok, report.to_dict()
    names = {c.name: c.ok for c in report.checks}
    assert names == {"format": True, "signature": True, "key": True, "prompt": True, "output": True}
    record = find_record(rid)[0]
    p = record.payload
    assert p["model"] == "small" and p["verifiers"] == ["json_schema"] and p["verdict"] == "verified"
    assert p["output_sha256"].startswith("sha256:") and p["offload_version"]
    assert find_record(rid[:12])[0].id == rid  # a unique prefix is enough


async def test_tampered_prompt_hash_is_detected(rig: Rig) -> None:
    rid = await generation(rig)
    path = RecordStore().find(rid)
    assert path is not None
    data = json.loads(path.read_text())
    data["payload"]["prompt_sha256"] = "sha256:" + "0" * 64
    path.write_text(json.dumps(data))
    problems = failed(verify_target(rid, journal=rig.engine.journal))
    assert "changed after it was signed" in problems["signature"]
    assert "differs from the journaled request" in problems["prompt"]
    assert "output" not in problems


async def test_tampered_output_hash_is_detected(rig: Rig) -> None:
    rid = await generation(rig)
    path = RecordStore().find(rid)
    assert path is not None
    data = json.loads(path.read_text())
    data["payload"]["output_sha256"] = "sha256:" + "1" * 64
    path.write_text(json.dumps(data))
    problems = failed(verify_target(rid, journal=rig.engine.journal))
    assert set(problems) == {"signature", "output"}


def test_tampered_output_file_is_detected(tmp_path: Path) -> None:
    out = tmp_path / "users.jsonl"
    out.write_text('{"a": 1}\n')
    sign_artifact(out, "fixtures", ["01J"])
    assert verify_target(str(out)).ok
    out.write_text('{"a": 2}\n')
    problems = failed(verify_target(str(out)))
    assert list(problems) == ["output"] and "does not match the record" in problems["output"]
    # the sidecar record itself can be given too
    assert list(failed(verify_target(str(out) + SIDECAR_SUFFIX))) == ["output"]


def test_tampered_signature_is_detected(tmp_path: Path) -> None:
    out = tmp_path / "data.txt"
    out.write_text("hello\n")
    sign_artifact(out, "export", [])
    sidecar = out.with_name(out.name + SIDECAR_SUFFIX)
    data = json.loads(sidecar.read_text())
    sig = bytearray(base64.b64decode(data["signature"]))
    sig[0] ^= 0xFF
    data["signature"] = base64.b64encode(bytes(sig)).decode()
    sidecar.write_text(json.dumps(data))
    problems = failed(verify_target(str(out)))
    assert list(problems) == ["signature"]


def test_a_record_signed_by_another_key_is_untrusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "data.txt"
    out.write_text("hello\n")
    monkeypatch.setenv("OFFLOAD_HOME", str(tmp_path / "elsewhere"))
    record = sign_artifact(out, "export", [])
    monkeypatch.setenv("OFFLOAD_HOME", str(tmp_path / "here"))
    report = verify_record(record, output=out)
    assert list(failed(report)) == ["key"] and "not trusted here" in failed(report)["key"]
    trusted = tmp_path / "here" / "keys" / "trusted"
    trusted.mkdir(parents=True)
    (trusted / "colleague.pub").write_text(record.public_key)
    assert verify_record(record, output=out).ok


def test_unknown_targets_and_non_records(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="no provenance record or file"):
        verify_target("does-not-exist")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with pytest.raises(InvalidRequest, match="looked for plain.txt.provenance.json"):
        verify_target(str(plain))
    assert not os.path.exists(tmp_path / "plain.txt.provenance.json")
