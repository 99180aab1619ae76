"""The builder: a JSON task becomes a verified code suggestion, a reviewable diff, and (on request) the change.

Task file (``offload build task.json``)::

    {"task_id": "slug-1", "objective": "Add slugify(text) to textutil.py ...",
     "files": ["textutil.py"], "acceptance": ["slugify('A B') == 'a-b'", "assert slugify('') == ''"],
     "constraints": {"loc_max": 30, "pack": "python"}}

The answer ``{file_path, suggested_code, explanation, tests, verification}`` is constrained by a JSON schema,
parsed with near-JSON repair and checked by :mod:`offload.workers.builder_checks`. A failing answer is sent
back for repair, then escalated to the next model; when nothing passes the builder raises — it never returns
a placeholder. :func:`unified_diff` renders the change for review; :func:`apply_suggestion` writes it
atomically, refusing when the file changed since the suggestion was made.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from offload.errors import InvalidRequest
from offload.routing.verdict import Verdict
from offload.workers import atomic
from offload.workers.builder_checks import check_suggestion
from offload.workers.common import Generation, ValueVerifier, generate_json, load_json_file
from offload.workers.knowledge import build_context, context_budget

if TYPE_CHECKING:
    from offload.engine import Engine, RequestContext

__all__ = [
    "SUGGESTION_SCHEMA", "BuildResult", "BuildTask", "Constraints", "LoadedTask", "Suggestion", "apply_suggestion",
    "build", "load_task", "unified_diff",
]  # fmt: skip

PACKS = ("python",)
SUGGESTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file_path": {"type": "string"},
        "suggested_code": {"type": "string"},
        "explanation": {"type": "string"},
        "tests": {"type": "string"},
        "verification": {"type": "string"},
    },
    "required": ["file_path", "suggested_code", "explanation", "tests", "verification"],
    "additionalProperties": False,
}
SYSTEM = (
    "You are a careful senior Python engineer. You write complete, working code that follows the project's "
    "conventions. Never write placeholders, TODO comments, stubs or `pass` bodies. Answer with one JSON object only."
)


class Constraints(BaseModel):
    """Limits on the change."""

    model_config = ConfigDict(extra="forbid")

    #: Lines of code the change may add or remove (blank lines and comments not counted).
    loc_max: int | None = Field(default=None, ge=1, le=100_000)
    #: The verification pack: how the suggestion is checked. Only ``python`` exists today.
    pack: str = "python"

    @field_validator("pack")
    @classmethod
    def _known_pack(cls, v: str) -> str:
        if v not in PACKS:
            raise ValueError(f"unknown pack {v!r}; offload build verifies {', '.join(PACKS)} code")
        return v


class BuildTask(BaseModel):
    """A builder task, as written in ``task.json``."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    objective: str = Field(min_length=1, max_length=20_000)
    files: list[str] = Field(default_factory=list, max_length=20)
    acceptance: list[str] = Field(default_factory=list, max_length=50)
    constraints: Constraints = Field(default_factory=lambda: Constraints())

    @field_validator("acceptance", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Suggestion(BaseModel):
    """The builder's answer."""

    file_path: str
    suggested_code: str
    explanation: str
    tests: str
    verification: str


@dataclass
class LoadedTask:
    """A validated task with the current content of its files (paths relative to ``root``)."""

    spec: BuildTask
    root: Path
    current: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 20.0

    @property
    def example_text(self) -> str:
        return "\n".join([self.spec.objective, *self.spec.acceptance])

    def normalise_target(self, raw: str) -> str | Verdict:
        """``raw`` as a clean relative path the suggestion may write, or a failing verdict saying why."""
        rel = _relative(raw)
        if rel is None:
            return Verdict(False, "builder", f"file_path {raw!r} is not a relative path inside the project",
                           feedback="file_path must be a relative path inside the project.")  # fmt: skip
        if self.current:
            if rel not in self.current:
                allowed = ", ".join(sorted(self.current))
                return Verdict(False, "builder", f"file_path {rel!r} is not one of the task's files ({allowed})",
                               feedback=f"file_path must be one of: {allowed}.")  # fmt: skip
        elif not (self.root / rel).parent.is_dir():
            return Verdict(False, "builder", f"the directory of {rel!r} does not exist",
                           feedback="Write the new file into an existing directory of the project.")  # fmt: skip
        if not rel.endswith(".py"):
            return Verdict(False, "builder", f"{rel!r} is not a Python file", feedback="file_path must end in .py.")
        return rel


def _relative(raw: str) -> str | None:
    p = PurePosixPath(raw.strip().replace("\\", "/"))
    if not raw.strip() or p.is_absolute() or ".." in p.parts:
        return None
    parts = [x for x in p.parts if x not in ("", ".")]
    return "/".join(parts) if parts else None


def load_task(path: str | Path, root: str | Path | None = None) -> LoadedTask:
    """Read and validate a task file; every named file must exist inside ``root`` (default: current dir)."""
    data = load_json_file(path, "task file")
    if not isinstance(data, dict):
        raise InvalidRequest(f"task file {str(path)!r} must hold a JSON object", hint=_TASK_HINT)
    try:
        spec = BuildTask.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise InvalidRequest(f"task file {str(path)!r}: {where}: {msg}", hint=_TASK_HINT) from exc
    base = Path(root) if root is not None else Path.cwd()
    loaded = LoadedTask(spec, base.resolve())
    for name in spec.files:
        rel = _relative(name)
        if rel is None:
            raise InvalidRequest(f"task file names {name!r}, which is not a relative path inside the project",
                                 hint="name files relative to the project root (--root), without '..'")  # fmt: skip
        target = loaded.root / rel
        if not target.is_file():
            raise InvalidRequest(f"task file names {rel!r}, which does not exist under {loaded.root}",
                                 hint="fix the path, or run from (or pass --root) the project root")  # fmt: skip
        try:
            loaded.current[rel] = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"cannot read {rel!r} as UTF-8 text: {exc}") from exc
    return loaded


_TASK_HINT = (
    'expected {"task_id": "...", "objective": "...", "files": ["path.py"], "acceptance": ["..."], '
    '"constraints": {"loc_max": 40, "pack": "python"}}'
)


def _prompt(task: LoadedTask, context: str) -> str:
    spec = task.spec
    parts = [f"Task {spec.task_id}: {spec.objective}"]
    if spec.acceptance:
        parts.append("Acceptance criteria:\n" + "\n".join(f"- {a}" for a in spec.acceptance))
    if spec.constraints.loc_max:
        parts.append(f"Constraint: change at most {spec.constraints.loc_max} lines of code.")
    for rel, text in task.current.items():
        parts.append(f"Current content of {rel}:\n```python\n{text}\n```")
    if context:
        parts.append("Project notes (follow these conventions):\n" + context)
    target = " or ".join(task.current) if task.current else "a new .py file"
    stem = next(iter(task.current), "module.py").rsplit("/", 1)[-1].removesuffix(".py")
    parts.append(
        "Answer with a JSON object:\n"
        f'- "file_path": the file to write ({target})\n'
        '- "suggested_code": the COMPLETE new content of that file, working code only\n'
        '- "explanation": what you changed and why, in one or two sentences\n'
        f'- "tests": Python test functions (def test_...(): with assert statements) for the acceptance criteria; '
        f"the code's names are already defined (or use `from {stem} import ...`)\n"
        '- "verification": how the tests show the criteria hold'
    )
    return "\n\n".join(parts)


def suggestion_schema(task: LoadedTask) -> dict[str, Any]:
    """The answer schema; when the task names its files, ``file_path`` is constrained to them."""
    if not task.current:
        return SUGGESTION_SCHEMA
    props = dict(SUGGESTION_SCHEMA["properties"]) | {"file_path": {"type": "string", "enum": sorted(task.current)}}
    return SUGGESTION_SCHEMA | {"properties": props}


@dataclass
class BuildResult:
    """A verified suggestion, its diff against the current file, and how it was made."""

    task: LoadedTask
    suggestion: Suggestion
    diff: str
    generation: Generation

    @property
    def base_sha256(self) -> str:
        return hashlib.sha256(self.task.current.get(self.suggestion.file_path, "").encode()).hexdigest()


async def build(
    engine: Engine,
    task: LoadedTask,
    *,
    context: Sequence[str | Path] = (),
    model: str = "auto",
    max_tokens: int = 2048,
    ctx: RequestContext | None = None,
) -> BuildResult:
    """Generate and verify a suggestion for ``task``; raises when no model produces a verified one."""
    notes = ""
    if context:
        budget = context_budget(engine, "code_generation", _prompt(task, ""), max_tokens=max_tokens)
        notes = build_context(list(context), task.example_text, budget).text
    verifier = ValueVerifier("builder", lambda v: check_suggestion(task, v))
    gen = await generate_json(
        engine, worker="build", kind="code_generation", prompt=_prompt(task, notes), system=SYSTEM,
        schema=suggestion_schema(task), verifiers=[verifier], model=model, max_tokens=max_tokens, temperature=0.2, ctx=ctx,
    )  # fmt: skip
    suggestion = Suggestion.model_validate(gen.value)
    rel = task.normalise_target(suggestion.file_path)
    assert isinstance(rel, str)  # verified above
    suggestion.file_path = rel
    diff = unified_diff(rel, task.current.get(rel), suggestion.suggested_code)
    return BuildResult(task, suggestion, diff, gen)


def unified_diff(rel: str, old: str | None, new: str) -> str:
    """A git-style unified diff (``a/`` and ``b/`` prefixes: ``git apply`` and ``patch -p1`` take it)."""
    new_text = new if new.endswith("\n") else new + "\n"
    old_lines = (old or "").splitlines(keepends=True)
    if old_lines and not old_lines[-1].endswith("\n"):
        old_lines[-1] += "\n"
    src = f"a/{rel}" if old is not None else "/dev/null"
    lines = difflib.unified_diff(old_lines, new_text.splitlines(keepends=True), src, f"b/{rel}")
    return "".join(lines)


def apply_suggestion(result: BuildResult) -> Path:
    """Write the suggested file atomically; refuse when it changed since the suggestion was made."""
    rel = result.suggestion.file_path
    target = result.task.root / rel
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if current != result.task.current.get(rel):
        raise InvalidRequest(f"{rel} changed since the suggestion was made; nothing was written",
                             hint="run offload build again on the current file")  # fmt: skip
    code = result.suggestion.suggested_code
    return atomic.write_text(target, code if code.endswith("\n") else code + "\n")
