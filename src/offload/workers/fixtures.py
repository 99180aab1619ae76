"""Fixtures and seed data: JSON records valid against a schema, unique on declared keys, written resumably.

``offload fixtures --schema user.schema.json --count 1000 --out users.jsonl``: records are generated in
batches through the verified cascade (the schema constrains decoding where the backend can). Every record is
validated against the schema and checked for uniqueness on the declared keys (``--unique KEY`` or the schema's
``"x-unique": [...]``); invalid or duplicate records are dropped and generated again in the next batch. Each
batch is appended atomically, so the file always holds complete, valid records, and running the same command
again resumes where it stopped. ``--seed`` makes a run repeatable on a deterministic backend.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import validators

from offload.errors import InvalidRequest, NoRouteAvailable, OffloadError, VerificationFailed
from offload.routing.verdict import Verdict
from offload.workers import atomic
from offload.workers.common import ValueVerifier, check_json_schema, generate_json

if TYPE_CHECKING:
    from offload.engine import Engine, RequestContext
    from offload.workers.provenance import ProvenanceRecord

__all__ = ["FixturesResult", "Partition", "generate_fixtures", "partition", "read_existing", "unique_keys"]

UNIQUE_KEYWORD = "x-unique"
MAX_BATCH = 100
Progress = Callable[[int, int], None]


def unique_keys(schema: dict[str, Any], extra: Sequence[str] = ()) -> list[str]:
    """Declared unique keys: ``extra`` plus the schema's ``x-unique`` list (dotted paths for nested fields)."""
    declared = schema.get(UNIQUE_KEYWORD, [])
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list) or not all(isinstance(k, str) for k in declared):
        raise InvalidRequest(f'"{UNIQUE_KEYWORD}" in the schema must be a list of property names')
    keys = list(dict.fromkeys([*extra, *declared]))
    props = schema.get("properties")
    for key in keys:
        if not key or (isinstance(props, dict) and key.split(".")[0] not in props):
            raise InvalidRequest(f"unique key {key!r} is not a property of the schema",
                                 hint=f"use one of: {', '.join(props) if isinstance(props, dict) else '(none)'}")  # fmt: skip
    return keys


def _lookup(record: Any, key: str) -> tuple[bool, Any]:
    value = record
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _fingerprint(record: Any, keys: Sequence[str]) -> dict[str, str] | str:
    out = {}
    for key in keys:
        found, value = _lookup(record, key)
        if not found:
            return f"lacks the unique key {key!r}"
        out[key] = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return out


@dataclass
class Partition:
    """One batch split into fresh valid records, invalid ones (with why) and duplicates."""

    fresh: list[Any] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def partition(records: Any, validator: Any, keys: Sequence[str], seen: dict[str, set[str]]) -> Partition:
    """Split ``records`` against the schema ``validator`` and the unique values in ``seen`` (not modified)."""
    out = Partition()
    if not isinstance(records, list):
        out.invalid.append('the answer has no "records" array')
        return out
    local = {k: set(v) for k, v in seen.items()}
    for i, rec in enumerate(records):
        errors = sorted(validator.iter_errors(rec), key=lambda e: list(e.absolute_path))
        if errors:
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in errors[0].absolute_path)
            out.invalid.append(f"records[{i}]{path}: {errors[0].message[:160]}")
            continue
        fp = _fingerprint(rec, keys)
        if isinstance(fp, str):
            out.invalid.append(f"records[{i}] {fp}")
            continue
        clash = [f"{k}={v}" for k, v in fp.items() if v in local.setdefault(k, set())]
        if clash:
            out.duplicates.append(f"records[{i}] repeats {', '.join(clash)}")
            continue
        for k, v in fp.items():
            local[k].add(v)
        out.fresh.append(rec)
    return out


def read_existing(path: Path, validator: Any, keys: Sequence[str]) -> tuple[list[Any], dict[str, set[str]]]:
    """Records already in ``path`` (for resuming) and their unique values; a bad line is an error."""
    seen: dict[str, set[str]] = {k: set() for k in keys}
    if not path.exists():
        return [], seen
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"cannot resume into {str(path)!r}: {exc}", hint="choose another --out") from exc
    records = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        hint = "fix or delete that line to resume, or choose another --out"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{path}:{n} is not a JSON record ({exc.msg})", hint=hint) from exc
        part = partition([rec], validator, keys, seen)
        if not part.fresh:
            why = (part.invalid or part.duplicates)[0].replace("records[0]", "the record")
            raise InvalidRequest(f"{path}:{n} cannot be resumed from: {why}", hint=hint)
        for k, v in _fingerprint(rec, keys).items():  # type: ignore[union-attr]
            seen[k].add(v)
        records.append(rec)
    return records, seen


def _send_schema(schema: Any) -> Any:
    """The schema without offload's own keywords (backends and grammars get standard JSON Schema only)."""
    if isinstance(schema, dict):
        return {k: _send_schema(v) for k, v in schema.items() if k != UNIQUE_KEYWORD}
    if isinstance(schema, list):
        return [_send_schema(v) for v in schema]
    return schema


def _prompt(schema: Any, n: int, batch: int, instructions: str, keys: Sequence[str]) -> str:
    parts = [f"Generate {n} realistic, varied records as a JSON object {{\"records\": [...]}}.",
             "Each record must be valid against this JSON schema:\n" + json.dumps(schema, indent=1)]  # fmt: skip
    if instructions:
        parts.append("Instructions: " + instructions)
    if keys:
        # Taken values are not listed: small models copy what they are shown. Uniqueness is checked instead.
        parts.append(f"This is batch {batch}: every {', '.join(keys)} must differ from all other batches.")
    return "\n\n".join(parts)


@dataclass
class FixturesResult:
    """What a run did."""

    path: Path
    requested: int
    existing: int
    written: int
    batches: int
    invalid: int
    duplicates: int
    rejected_batches: int = 0
    generations: list[str] = field(default_factory=list)
    provenance: ProvenanceRecord | None = None

    @property
    def total(self) -> int:
        return self.existing + self.written


def _batch_schema(sent: Any, n: int) -> dict[str, Any]:
    items = {"type": "array", "items": sent, "minItems": n, "maxItems": n}
    return {"type": "object", "additionalProperties": False, "required": ["records"], "properties": {"records": items}}


def _batch_check(validator: Any, keys: Sequence[str], seen: dict[str, set[str]]) -> Callable[[Any], Verdict]:
    """The batch verifier: passes when at least one record is valid and new (the others are regenerated)."""

    def check(value: Any) -> Verdict:
        part = partition(value.get("records") if isinstance(value, dict) else None, validator, keys, seen)
        if part.fresh:
            return Verdict(True, "fixtures", f"{len(part.fresh)} valid, unique record(s)")
        problems = (part.invalid + part.duplicates)[:5]
        return Verdict(
            False, "fixtures", "; ".join(problems)[:300], feedback="No record was usable: " + "; ".join(problems)
        )

    return check


def _batch_seed(seed: int, existing: int, batch: int) -> int:
    """A batch's seed: the same for the same run, different for every batch and for a resumed run."""
    digest = hashlib.sha256(f"{seed}:{existing}:{batch}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _only_rejections(exc: NoRouteAvailable) -> bool:
    attempts = [a for a in exc.attempts if getattr(a, "status", "") != "skipped"]
    return bool(attempts) and all(getattr(a, "status", "") == "rejected" for a in attempts)


def _resume_hint(exc: OffloadError, result: FixturesResult) -> None:
    if result.total:
        note = f"{result.path} holds {result.total} valid records; rerun the same command to resume"
        exc.hint = f"{exc.hint}; {note}" if exc.hint else note


async def generate_fixtures(
    engine: Engine,
    schema: Any,
    count: int,
    out: str | Path,
    *,
    batch_size: int = 10,
    seed: int | None = None,
    unique: Sequence[str] = (),
    instructions: str = "",
    model: str = "auto",
    on_progress: Progress | None = None,
    ctx: RequestContext | None = None,
) -> FixturesResult:
    """Fill ``out`` (JSON Lines) up to ``count`` valid, unique records; resumes a partly written file."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidRequest(f"count must be a positive integer, got {count!r}", hint="pass --count 1 or more")
    if not 1 <= batch_size <= MAX_BATCH:
        raise InvalidRequest(f"batch size must be 1..{MAX_BATCH}, got {batch_size}")
    schema = check_json_schema(schema, "fixtures schema")
    keys = unique_keys(schema, unique)
    validator = validators.validator_for(schema)(schema)
    path = Path(out)
    if not path.parent.is_dir():
        raise InvalidRequest(f"the directory of {str(path)!r} does not exist", hint="create it or choose another --out")
    with atomic.exclusive(path):
        records, seen = read_existing(path, validator, keys)
        result = FixturesResult(path, count, len(records), 0, 0, 0, 0)
        if on_progress:
            on_progress(min(len(records), count), count)
        sent = _send_schema(schema)
        limit = 4 * math.ceil(max(0, count - len(records)) / batch_size) + 4
        while result.total < count:
            if result.batches >= limit:
                raise VerificationFailed(
                    f"stopped after {result.batches} batches: only {result.total} of {count} valid, unique records "
                    f"({result.invalid} invalid, {result.duplicates} duplicates dropped, {result.rejected_batches} "
                    "batches with nothing usable)",
                    hint="the unique keys may not allow more values, or the model cannot follow the schema; "
                    f"{path} holds the {result.total} good records; rerun to resume",
                )
            n = min(batch_size, count - result.total)
            batch_seed = None if seed is None else _batch_seed(seed, result.existing, result.batches)
            try:
                gen = await generate_json(
                    engine, worker="fixtures", kind="fixtures", schema=_batch_schema(sent, n), strict_schema=False,
                    prompt=_prompt(sent, n, result.existing // batch_size + result.batches + 1, instructions, keys),
                    verifiers=[ValueVerifier("fixtures", _batch_check(validator, keys, seen))], model=model,
                    max_tokens=min(4096, 160 * n + 64), temperature=0.9, seed=batch_seed, ctx=ctx,
                )  # fmt: skip
            except NoRouteAvailable as exc:
                if _only_rejections(exc):  # the models answered, nothing was usable: try a fresh batch
                    result.batches += 1
                    result.rejected_batches += 1
                    continue
                _resume_hint(exc, result)
                raise
            except OffloadError as exc:
                _resume_hint(exc, result)
                raise
            result.batches += 1
            part = partition(gen.value.get("records"), validator, keys, seen)
            fresh = part.fresh[: count - result.total]
            atomic.append_lines(path, [json.dumps(r, ensure_ascii=False) for r in fresh])
            for rec in fresh:
                for k, v in _fingerprint(rec, keys).items():  # type: ignore[union-attr]
                    seen[k].add(v)
            result.written += len(fresh)
            result.invalid += len(part.invalid)
            result.duplicates += len(part.duplicates)
            if gen.journal_id:
                result.generations.append(gen.journal_id)
            if on_progress:
                on_progress(result.total, count)
        if result.written:
            from offload.workers.provenance import sign_artifact

            try:
                result.provenance = sign_artifact(path, "fixtures", result.generations, records=result.total)
            except OffloadError:
                result.provenance = None
    return result
