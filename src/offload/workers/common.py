"""What every worker shares: run a task with the worker's own verifiers, structured JSON generation, input files.

A worker is a prompt, an output schema and verifiers. :func:`generate_json` sends the prompt with
``response_format = json_schema`` (Ollama ``format``, a llama.cpp grammar, or an OpenAI JSON-schema response
format, depending on the backend), runs it through the verified cascade with the schema check plus the
worker's verifiers (failures are fed back for repair, then escalated), parses the accepted answer with
near-JSON repair, and signs a provenance record for it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators
from platformdirs import user_data_dir

from offload.errors import InvalidRequest, OffloadError, VerificationFailed
from offload.routing.codeblocks import extract_json
from offload.routing.task import Task, VerifySpec
from offload.routing.verdict import Verdict, Verifier
from offload.routing.verify import JsonSchemaVerifier
from offload.types import ChatRequest, ChatResponse, ContentPart, ImagePart, Message, ResponseFormat, TextPart

if TYPE_CHECKING:
    from offload.engine import Engine, RequestContext
    from offload.workers.provenance import ProvenanceRecord

log = logging.getLogger("offload.workers")

__all__ = [
    "Generation",
    "ValueVerifier",
    "check_json_schema",
    "generate_json",
    "load_json_file",
    "offload_home",
    "read_text_file",
    "run_task",
]


def offload_home() -> Path:
    """offload's data directory: ``$OFFLOAD_HOME``, else the user data dir (journal, keys, memory, records)."""
    env = os.environ.get("OFFLOAD_HOME")
    return Path(env).expanduser() if env else Path(user_data_dir("offload", appauthor=False))


def read_text_file(path: str | os.PathLike[str], what: str = "file", *, max_bytes: int = 5_000_000) -> str:
    """A UTF-8 text file's content, or an :class:`InvalidRequest` naming the file and the problem."""
    p = Path(path)
    if not p.exists():
        raise InvalidRequest(f"{what} {str(p)!r} does not exist", hint="check the path")
    if not p.is_file():
        raise InvalidRequest(f"{what} {str(p)!r} is not a regular file", hint="pass a file, not a directory")
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise InvalidRequest(
                f"{what} {str(p)!r} is too large ({size:,} bytes, limit {max_bytes:,})",
                hint="pass a smaller file or only the part that matters",
            )
        return p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{what} {str(p)!r} is not UTF-8 text", hint="pass a text file") from exc
    except OSError as exc:
        raise InvalidRequest(f"cannot read {what} {str(p)!r}: {exc.strerror}", hint="check permissions") from exc


def load_json_file(path: str | os.PathLike[str], what: str = "JSON file") -> Any:
    """Parse a JSON file; a missing file or malformed JSON is an :class:`InvalidRequest` with line and column."""
    text = read_text_file(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"{what} {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="fix the JSON syntax there (a validator such as `python -m json.tool FILE` shows it too)",
        ) from exc


def check_json_schema(schema: Any, what: str = "schema") -> dict[str, Any]:
    """Check that ``schema`` is a valid JSON Schema (object form); return it or raise :class:`InvalidRequest`."""
    if not isinstance(schema, dict):
        raise InvalidRequest(
            f"the {what} is not a JSON Schema: expected an object, got {type(schema).__name__}",
            hint='a JSON Schema is an object such as {"type": "object", "properties": {...}}',
        )
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema_exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise InvalidRequest(
            f"the {what} is not valid JSON Schema: {exc.message} (at {where})",
            hint="fix the schema (see https://json-schema.org/understanding-json-schema/)",
        ) from exc
    return schema


Check = Callable[[Any], "Verdict | Awaitable[Verdict]"]


class ValueVerifier:
    """A verifier over the answer's parsed JSON value (fences and near-JSON are repaired first).

    ``check`` gets the parsed value and returns a :class:`Verdict`; an exception inside it (the value has
    an unexpected shape) counts as a failure with feedback, never as a crash.
    """

    def __init__(self, name: str, check: Check) -> None:
        self.name = name
        self._check = check

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        try:
            value = extract_json(response.content or "")
        except ValueError as exc:
            return Verdict(False, self.name, str(exc), feedback=f"Answer with one JSON value only. ({exc})")
        try:
            out = self._check(value)
            if inspect.isawaitable(out):
                out = await out
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a wrongly shaped value: fail with a hint instead of crashing the cascade
            detail = f"the answer has an unexpected shape ({type(exc).__name__}: {exc})"
            return Verdict(False, self.name, detail, feedback=detail + ". Follow the JSON schema exactly.")
        assert isinstance(out, Verdict)
        return out


async def run_task(
    engine: Engine, task: Task, verifiers: Sequence[Verifier], ctx: RequestContext | None = None
) -> ChatResponse:
    """Run ``task`` through the engine's verified cascade with exactly ``verifiers``; journaled and metered."""
    return await engine.run(task, ctx, verifiers=list(verifiers))


@dataclass
class Generation:
    """An accepted, verified structured answer."""

    value: Any
    response: ChatResponse
    verifiers: list[str] = field(default_factory=list)
    #: The signed provenance record (None when signing failed: see ``provenance_error``).
    provenance: ProvenanceRecord | None = None
    provenance_error: str | None = None

    @property
    def journal_id(self) -> str | None:
        return self.response.journal_id


async def generate_json(
    engine: Engine,
    *,
    worker: str,
    kind: str,
    prompt: str,
    schema: dict[str, Any],
    system: str | None = None,
    verifiers: Sequence[Verifier] = (),
    strict_schema: bool = True,
    images: Sequence[ImagePart] = (),
    model: str = "auto",
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    ctx: RequestContext | None = None,
    sign: bool = True,
) -> Generation:
    """Generate JSON valid against ``schema`` through the verified cascade; raise unless it is *verified*.

    ``strict_schema=False`` leaves the schema check to ``verifiers`` (the schema still constrains decoding):
    the fixtures worker uses it to keep the valid records of a partly invalid batch.
    """
    content: list[ContentPart] = [TextPart(text=prompt), *images]
    request = ChatRequest(
        model=model, system=system, messages=[Message(role="user", content=content)],
        response_format=ResponseFormat(type="json_schema", json_schema=schema, name=f"offload_{worker}"),
        max_tokens=max_tokens, temperature=temperature, seed=seed, metadata={"kind": kind, "worker": worker},
    )  # fmt: skip
    checks: list[Verifier] = [JsonSchemaVerifier(schema)] if strict_schema else []
    checks += list(verifiers)
    task = Task(request=request, kind=kind, verify=VerifySpec(json_only=True, examples=False), source_text=prompt)
    response = await run_task(engine, task, checks, ctx)
    if response.verdict != "verified":
        raise VerificationFailed(
            f"the {worker} answer was accepted as {response.verdict!r}, not verified (journal {response.journal_id})",
            hint="nothing was written; add a stronger model to the route or relax the checks, then retry",
        )
    try:
        value = extract_json(response.content)
    except ValueError as exc:  # cannot happen after the JSON checks passed; keep the guarantee explicit
        raise VerificationFailed(f"the accepted {worker} answer is not JSON: {exc}") from exc
    gen = Generation(value=value, response=response, verifiers=[v.name for v in checks])
    if sign:
        from offload.workers.provenance import sign_generation

        try:
            gen.provenance = await sign_generation(engine, worker, request, response, gen.verifiers)
        except OffloadError as exc:
            gen.provenance_error = str(exc)
            log.warning("provenance record not written for %s: %s", response.journal_id, exc)
    return gen
