"""``offload verify FILE|ID``: check a provenance record and say exactly what does not match.

Checks, each reported on its own: the record's format; the signature over its payload; whether the signing
key is trusted here (this machine's key, or a public key in ``<offload home>/keys/trusted/*.pub``); for an
artifact, the file's hash and size against the record; for a generation, the journaled request and answer
against the record's prompt hash, output hash and model.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from offload.errors import InvalidRequest
from offload.workers.common import offload_home
from offload.workers.provenance import (
    SIDECAR_SUFFIX,
    ProvenanceRecord,
    RecordStore,
    canonical,
    key_dir,
    key_fingerprint,
    load_key,
    output_hash,
    prompt_hash,
    public_raw,
    sha256_hex,
)

if TYPE_CHECKING:
    from offload.store.journal import Journal

__all__ = ["Check", "VerifyReport", "find_record", "verify_record", "verify_target"]

_GENERATION_FIELDS = ("model", "prompt_sha256", "output_sha256", "verifiers", "created_at", "offload_version")
_ARTIFACT_FIELDS = ("path", "sha256", "size", "created_at", "offload_version")


@dataclass(frozen=True)
class Check:
    """One thing checked: passed (``ok``), failed, or could not be checked (``ok is None``)."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class VerifyReport:
    """Everything checked about one record."""

    record_id: str
    kind: str
    source: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed (checks that could not run do not fail the record)."""
        return all(c.ok is not False for c in self.checks) and any(c.name == "signature" and c.ok for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record_id, "kind": self.kind, "source": self.source, "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }  # fmt: skip


def _parse(text: str, source: str) -> ProvenanceRecord:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{source} is not a provenance record: not JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or "signature" not in data or "payload" not in data:
        raise InvalidRequest(f"{source} is not a provenance record (no payload/signature)")
    try:
        return ProvenanceRecord.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidRequest(f"{source} is not a valid provenance record: {where}: {err['msg']}") from exc


def find_record(target: str) -> tuple[ProvenanceRecord, str, Path | None]:
    """The record for ``target`` (a record id or prefix, a record file, or a file with a sidecar record).

    Returns the record, where it came from, and the output file it describes (when known).
    """
    path = Path(target)
    if path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace") if path.suffix == ".json" else ""
        if text:
            try:
                record = _parse(text, str(path))
                artifact = (
                    Path(record.payload["path"]) if record.kind == "artifact" and "path" in record.payload else None
                )
                return record, str(path), artifact
            except InvalidRequest:
                pass
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        if not sidecar.is_file():
            raise InvalidRequest(
                f"no provenance record for {str(path)!r} (looked for {sidecar.name})",
                hint="only files offload wrote carry a record; pass a record id from `offload log` instead",
            )
        return _parse(sidecar.read_text(encoding="utf-8"), str(sidecar)), str(sidecar), path
    found = RecordStore().find(target)
    if found is None:
        raise InvalidRequest(
            f"no provenance record or file named {target!r}",
            hint=f"pass a file offload wrote, its {SIDECAR_SUFFIX} record, or a journal id",
        )
    record = _parse(found.read_text(encoding="utf-8"), str(found))
    artifact = Path(record.payload["path"]) if record.kind == "artifact" and "path" in record.payload else None
    return record, str(found), artifact


def _trusted_keys(home: Path | None) -> dict[str, str]:
    out = {}
    try:
        own = public_raw(load_key(home))
        out[key_fingerprint(own)] = "this machine's key"
    except Exception:
        pass
    trusted = key_dir(home) / "trusted"
    if trusted.is_dir():
        for f in sorted(trusted.glob("*.pub")):
            try:
                raw = base64.b64decode(f.read_text().strip(), validate=True)
            except (OSError, binascii.Error, ValueError):
                continue
            out[key_fingerprint(raw)] = f"trusted key {f.name}"
    return out


def _signature(record: ProvenanceRecord) -> list[Check]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode(record.public_key, validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        return [Check("signature", False, f"the record's public key is malformed ({exc})")]
    checks = []
    if key_fingerprint(raw) != record.key_id:
        checks.append(Check("key_id", False, f"key_id {record.key_id} does not belong to the record's public key "
                                             f"({key_fingerprint(raw)})"))  # fmt: skip
    try:
        sig = base64.b64decode(record.signature, validate=True)
        key.verify(sig, canonical(record.payload))
    except (binascii.Error, ValueError):
        checks.append(Check("signature", False, "the signature is not valid base64"))
    except InvalidSignature:
        checks.append(Check("signature", False, "the signature does not match the record's payload: the record "
                                                "was changed after it was signed, or signed by another key"))  # fmt: skip
    else:
        checks.append(Check("signature", True, f"valid ed25519 signature by {record.key_id}"))
    return checks


def _fields(record: ProvenanceRecord) -> Check:
    need = _ARTIFACT_FIELDS if record.kind == "artifact" else _GENERATION_FIELDS
    missing = [f for f in need if f not in record.payload]
    if missing:
        return Check("format", False, "the payload lacks " + ", ".join(missing))
    return Check("format", True, f"{record.kind} record, version {record.version}")


def _artifact(record: ProvenanceRecord, output: Path | None) -> list[Check]:
    if output is None or not output.is_file():
        return [Check("output", None, f"the file {record.payload.get('path')!r} is not here to compare")]
    data = output.read_bytes()
    want, got = record.payload.get("sha256"), sha256_hex(data)
    if got != want:
        size = record.payload.get("size")
        return [Check("output", False, f"{output} does not match the record: its content hashes to {got}, the record "
                                       f"says {want} ({len(data):,} bytes now, {size:,} bytes signed)")]  # fmt: skip
    return [Check("output", True, f"{output} matches ({got})")]


def _generation(record: ProvenanceRecord, journal: Journal | None) -> list[Check]:
    jid = record.payload.get("journal_id")
    if journal is None or not jid:
        return [Check("journal", None, "no journal to compare the prompt and output with")]
    try:
        entry = journal.get(jid)
    except Exception:
        return [Check("journal", None, f"journal entry {jid} is not in this journal")]
    checks = []
    got = prompt_hash(entry.request)
    want = record.payload.get("prompt_sha256")
    if got != want:
        checks.append(Check("prompt", False, f"prompt_sha256 in the record ({want}) differs from the journaled "
                                             f"request {jid} ({got})"))  # fmt: skip
    else:
        checks.append(Check("prompt", True, f"matches the journaled request {jid}"))
    content = (entry.response or {}).get("content")
    if isinstance(content, str):
        got_out, want_out = output_hash(content), record.payload.get("output_sha256")
        if got_out != want_out:
            checks.append(Check("output", False, f"output_sha256 in the record ({want_out}) differs from the journaled "
                                                 f"answer of {jid} ({got_out})"))  # fmt: skip
        else:
            checks.append(Check("output", True, f"matches the journaled answer of {jid}"))
    if entry.model and record.payload.get("model") != entry.model:
        checks.append(Check("model", False, f"the record names model {record.payload.get('model')!r}, the journal "
                                            f"{entry.model!r}"))  # fmt: skip
    return checks


def verify_record(
    record: ProvenanceRecord,
    *,
    source: str = "",
    output: Path | None = None,
    journal: Journal | None = None,
    home: Path | None = None,
) -> VerifyReport:
    """Run every check on ``record`` (see the module docstring)."""
    report = VerifyReport(record.id, record.kind, source)
    report.checks.append(_fields(record))
    report.checks += _signature(record)
    trusted = _trusted_keys(home or offload_home())
    if record.key_id in trusted:
        report.checks.append(Check("key", True, trusted[record.key_id]))
    else:
        report.checks.append(Check("key", False, f"signed by {record.key_id}, which is not trusted here (add its "
                                                 f"public key to {key_dir(home)}/trusted/)"))  # fmt: skip
    if record.kind == "artifact":
        report.checks += _artifact(record, output)
    else:
        report.checks += _generation(record, journal)
    return report


def verify_target(target: str, *, journal: Journal | None = None) -> VerifyReport:
    """Find the record for ``target`` (file, record file or id) and verify it."""
    record, source, output = find_record(target)
    return verify_record(record, source=source, output=output, journal=journal)
