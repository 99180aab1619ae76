"""Signed provenance: every accepted generation gets a record signed with this machine's ed25519 key.

A record says which model (and its digest) produced which output (hash) from which prompt (hash), which
verifiers it passed, when, and with which offload version. The signature covers the canonical JSON of the
``payload``. Records live in ``<offload home>/provenance/<id>.json``; a file offload writes (fixtures,
patches, exports) gets an *artifact* record beside it, ``<file>.provenance.json``, holding the file's hash.

The key is created on first use in ``<offload home>/keys/`` (private key mode 0600). Checking a record
(:mod:`offload.workers.provenance_check`) says exactly what does not match.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from offload.errors import ConfigError, InvalidRequest
from offload.workers import atomic
from offload.workers.common import offload_home

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from offload.engine import Engine
    from offload.types import ChatRequest, ChatResponse

__all__ = [
    "SIDECAR_SUFFIX",
    "ProvenanceRecord",
    "RecordStore",
    "canonical",
    "load_key",
    "model_digest",
    "output_hash",
    "prompt_hash",
    "sign_artifact",
    "sign_generation",
    "sign_payload",
]

SIDECAR_SUFFIX = ".provenance.json"
KEY_FILE = "provenance-ed25519.pem"
RECORD_VERSION = 1


class ProvenanceRecord(BaseModel):
    """A signed statement about one generation (``kind="generation"``) or one output file (``"artifact"``)."""

    model_config = ConfigDict(extra="forbid")

    version: int = RECORD_VERSION
    id: str
    kind: Literal["generation", "artifact"]
    payload: dict[str, Any]
    #: base64 ed25519 signature over :func:`canonical` (payload).
    signature: str
    #: base64 raw public key (32 bytes) and its short fingerprint.
    public_key: str
    key_id: str
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def canonical(payload: dict[str, Any]) -> bytes:
    """The exact bytes a signature covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def prompt_hash(request: dict[str, Any]) -> str:
    """Hash of what the model was asked: system prompt, messages and response format (as journaled)."""
    subject = {k: request.get(k) for k in ("system", "messages", "response_format")}
    return sha256_hex(canonical(subject))


def output_hash(content: str) -> str:
    """Hash of the model's accepted answer text."""
    return sha256_hex(content)


def key_fingerprint(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


# -- keys ----------------------------------------------------------------------------------------------------
def key_dir(home: Path | None = None) -> Path:
    return (home or offload_home()) / "keys"


def load_key(home: Path | None = None) -> Ed25519PrivateKey:
    """This machine's signing key, created (mode 0600) on first use. Two processes creating it race safely."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = key_dir(home) / KEY_FILE
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot create the key directory {str(path.parent)!r}: {exc.strerror}",
                              hint="set OFFLOAD_HOME to a writable directory") from exc  # fmt: skip
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_name(f".{KEY_FILE}.{uuid.uuid4().hex}.tmp")
        atomic.write_bytes(tmp, pem, mode=0o600)
        try:
            os.link(tmp, path)  # fails if another process created the key first: then use theirs
        except FileExistsError:
            pass
        except OSError as exc:
            raise ConfigError(f"cannot store the signing key at {str(path)!r}: {exc.strerror}",
                              hint="set OFFLOAD_HOME to a writable directory") from exc  # fmt: skip
        finally:
            tmp.unlink(missing_ok=True)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"the provenance signing key {str(path)!r} cannot be read: {exc}",
            hint="restore it from a backup, or move it away to create a new key (old records then verify as "
            "signed by an untrusted key)",
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{str(path)!r} is not an ed25519 key", hint="move it away; a new key is then created")
    return key


def public_raw(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_payload(kind: str, payload: dict[str, Any], *, record_id: str, home: Path | None = None) -> ProvenanceRecord:
    """Sign ``payload`` with this machine's key."""
    key = load_key(home)
    pub = public_raw(key)
    return ProvenanceRecord(
        id=record_id, kind=kind,  # type: ignore[arg-type]
        payload=payload, signature=base64.b64encode(key.sign(canonical(payload))).decode("ascii"),
        public_key=base64.b64encode(pub).decode("ascii"), key_id=key_fingerprint(pub),
    )  # fmt: skip


# -- storage -------------------------------------------------------------------------------------------------
class RecordStore:
    """Records as one JSON file each under ``<offload home>/provenance``; lookup by id or unique id prefix."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or (offload_home() / "provenance")

    def save(self, record: ProvenanceRecord) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {str(self.root)!r}: {exc.strerror}",
                              hint="set OFFLOAD_HOME to a writable directory") from exc  # fmt: skip
        return atomic.write_text(self.root / f"{record.id}.json", record.to_json())

    def find(self, ident: str) -> Path | None:
        """The file of record ``ident`` (an id or a unique prefix of one); None when there is none."""
        if not ident or "/" in ident or "\\" in ident or ident.startswith("."):
            return None
        exact = self.root / f"{ident}.json"
        if exact.is_file():
            return exact
        if not self.root.is_dir():
            return None
        matches = sorted(p for p in self.root.glob(f"{ident}*.json") if p.is_file())
        if len(matches) > 1:
            names = ", ".join(p.stem for p in matches[:5])
            raise InvalidRequest(f"{ident!r} matches several records ({names}...)", hint="give more of the id")
        return matches[0] if matches else None


# -- model digests -------------------------------------------------------------------------------------------
_DIGESTS: dict[tuple[str, int, float], str] = {}


def _file_digest(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_size, st.st_mtime)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = "sha256:" + h.hexdigest()
    return _DIGESTS[key]


async def model_digest(engine: Engine, backend_name: str, model_name: str) -> str | None:
    """The model's content digest: the GGUF's sha256 (embedded), the registry digest (Ollama); else None."""
    try:
        backend = engine.backend(backend_name)
    except Exception:
        return None
    path = getattr(backend, "model_path", None)
    if isinstance(path, Path):
        return _file_digest(path)
    spec = engine.config.model(model_name)
    upstream = spec.upstream_name if spec is not None else model_name
    try:
        infos = await backend.list_models()
    except Exception:
        return None
    wanted = {upstream, upstream if ":" in upstream else f"{upstream}:latest"}
    for info in infos:
        digest = info.details.get("digest") if isinstance(info.details, dict) else None
        if info.name in wanted and isinstance(digest, str) and digest:
            return digest if ":" in digest else "sha256:" + digest
    return None


def _now() -> str:
    return datetime.fromtimestamp(time.time(), tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version() -> str:
    from offload import __version__

    return str(__version__)


async def sign_generation(
    engine: Engine, worker: str, request: ChatRequest, response: ChatResponse, verifiers: list[str]
) -> ProvenanceRecord:
    """Sign and store the record of one accepted generation (its id is the journal id)."""
    journaled = engine.redactor.obj(request.model_dump(mode="json", exclude={"metadata"}))
    payload = {
        "journal_id": response.journal_id, "worker": worker, "model": response.model, "backend": response.backend,
        "model_digest": await model_digest(engine, response.backend, response.model),
        "prompt_sha256": prompt_hash(journaled), "output_sha256": output_hash(response.content),
        "verifiers": sorted(verifiers), "verdict": response.verdict, "created_at": _now(),
        "offload_version": _version(),
    }  # fmt: skip
    record = sign_payload("generation", payload, record_id=response.journal_id or f"gen_{uuid.uuid4().hex}")
    RecordStore().save(record)
    return record


def sign_artifact(path: str | os.PathLike[str], worker: str, generations: list[str], **extra: Any) -> ProvenanceRecord:
    """Sign the current content of an output file; write ``<file>.provenance.json`` and store the record."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {str(p)!r} to sign it: {exc.strerror}") from exc
    payload = {
        "path": str(p.resolve()), "sha256": sha256_hex(data), "size": len(data), "worker": worker,
        "generations": list(generations), "created_at": _now(), "offload_version": _version(), **extra,
    }  # fmt: skip
    record = sign_payload("artifact", payload, record_id=f"art_{uuid.uuid4().hex[:20]}")
    atomic.write_text(p.with_name(p.name + SIDECAR_SUFFIX), record.to_json())
    RecordStore().save(record)
    return record
