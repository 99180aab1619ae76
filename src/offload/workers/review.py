"""Review pre-filter: ``offload review FILE... | --diff [REV]`` → structured findings, the risky ones marked.

The code is shown to the model with line numbers (for a diff: the new file's numbers of each hunk). Each
finding has ``file, line, severity, category, message, suggestion, confidence``; the verifier rejects
findings about files that were not reviewed or lines outside them (outside the changed hunks for a diff).
High/critical findings and findings below the confidence threshold get ``needs_escalation = true``: a local
first pass, with what a stronger reviewer should look at marked.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offload.errors import InvalidRequest
from offload.routing.verdict import Verdict
from offload.types import estimate_tokens
from offload.workers.common import ValueVerifier, generate_json, read_text_file
from offload.workers.knowledge import context_budget

if TYPE_CHECKING:
    from offload.engine import Engine, RequestContext

__all__ = ["FINDINGS_SCHEMA", "Finding", "ReviewResult", "Segment", "diff_segments", "file_segments", "review"]

SEVERITIES = ("info", "low", "medium", "high", "critical")
CATEGORIES = ("bug", "security", "performance", "error_handling", "style", "maintainability", "documentation",
              "testing")  # fmt: skip
FINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["findings"], "additionalProperties": False,
    "properties": {"findings": {"type": "array", "items": {
        "type": "object", "additionalProperties": False,
        "required": ["file", "line", "severity", "category", "message", "suggestion", "confidence"],
        "properties": {
            "file": {"type": "string"}, "line": {"type": "integer", "minimum": 1},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "message": {"type": "string", "minLength": 1}, "suggestion": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }}},
}  # fmt: skip
SYSTEM = ("You are a meticulous code reviewer. Report real problems only (bugs, security, error handling, "
          "performance, unclear code), each at the exact line, with a concrete fix. No problems: an empty list.")  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """A reviewable piece of one file: numbered text and the lines a finding may point at."""

    path: str
    text: str
    lines: frozenset[int]


def _numbered(lines: list[str], start: int) -> str:
    return "\n".join(f"{n:>5} | {line}" for n, line in enumerate(lines, start))


def file_segments(paths: list[str | Path], *, max_lines: int = 400) -> list[Segment]:
    """Whole files, numbered, split every ``max_lines`` lines."""
    out = []
    for raw in paths:
        text = read_text_file(raw, "file to review", max_bytes=2_000_000)
        lines = text.splitlines()
        if not lines:
            continue
        for start in range(0, len(lines), max_lines):
            chunk = lines[start : start + max_lines]
            out.append(
                Segment(str(raw), _numbered(chunk, start + 1), frozenset(range(start + 1, start + len(chunk) + 1)))
            )
    return out


_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def diff_segments(diff: str) -> list[Segment]:
    """One segment per changed file of a unified diff (git or plain); line numbers are the new file's."""
    out: list[Segment] = []
    path: str | None = None
    body: list[str] = []
    lines: set[int] = set()
    new_no = old_left = new_left = 0

    def flush() -> None:
        if path and body and lines:
            out.append(Segment(path, "\n".join(body), frozenset(lines)))

    for raw in diff.splitlines():
        if old_left > 0 or new_left > 0:  # inside a hunk: the counts say where it ends
            if raw.startswith("+"):
                body.append(f"{new_no:>5} + {raw[1:]}")
                lines.add(new_no)
                new_no, new_left = new_no + 1, new_left - 1
            elif raw.startswith("-"):
                body.append(f"      - {raw[1:]}")
                old_left -= 1
            elif raw.startswith((" ", "")) and not raw.startswith("\\"):
                body.append(f"{new_no:>5}   {raw[1:]}")
                lines.add(new_no)
                new_no, old_left, new_left = new_no + 1, old_left - 1, new_left - 1
            continue
        if raw.startswith(("diff --git", "--- ")):
            if raw.startswith("diff --git") or path is not None:
                flush()
                path, body, lines = None, [], set()
        elif raw.startswith("+++ "):
            target = raw[4:].split("\t")[0].strip()
            path = None if target == "/dev/null" else target.removeprefix("b/")
        elif (m := _HUNK.match(raw)) and path:
            old_left = int(m.group(1)) if m.group(1) is not None else 1
            new_no = int(m.group(2))
            new_left = int(m.group(3)) if m.group(3) is not None else 1
            body.append(raw)
    flush()
    return out


def git_diff(rev: str | None, cwd: str | Path | None = None) -> str:
    """``git diff REV`` (default: the working tree against HEAD) in ``cwd``; read-only."""
    if rev is not None and (rev.startswith("-") or not re.match(r"^[\w./~^@{}:-]+$", rev)):
        raise InvalidRequest(f"{rev!r} is not a git revision", hint="pass e.g. HEAD~1, main, or a commit id")
    cmd = ["git", "diff", "--no-color", "--no-ext-diff", "--unified=3", rev or "HEAD", "--"]
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError as exc:
        raise InvalidRequest("git is not installed", hint="install git, or review files instead of --diff") from exc
    except subprocess.TimeoutExpired as exc:
        raise InvalidRequest("git diff took longer than 60 s", hint="review a smaller revision range") from exc
    if proc.returncode != 0:
        raise InvalidRequest(f"git diff {rev or 'HEAD'} failed: {proc.stderr.strip()[:300]}",
                             hint="run inside a git repository and pass an existing revision")  # fmt: skip
    return proc.stdout


@dataclass
class Finding:
    """One review finding."""

    file: str
    line: int
    severity: str
    category: str
    message: str
    suggestion: str
    confidence: float
    needs_escalation: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ReviewResult:
    """Findings of a review, most severe first."""

    findings: list[Finding] = field(default_factory=list)
    generations: list[str] = field(default_factory=list)
    segments: int = 0

    @property
    def escalations(self) -> list[Finding]:
        return [f for f in self.findings if f.needs_escalation]


def _check(segments: list[Segment], value: Any) -> Verdict:
    by_file: dict[str, set[int]] = {}
    for s in segments:
        by_file.setdefault(s.path, set()).update(s.lines)
    problems = []
    for i, f in enumerate(value["findings"]):
        lines = by_file.get(f["file"])
        if lines is None:
            problems.append(f"findings[{i}].file {f['file']!r} was not reviewed (use one of {sorted(by_file)})")
        elif f["line"] not in lines:
            problems.append(f"findings[{i}].line {f['line']} is not a reviewed line of {f['file']}")
    if problems:
        return Verdict(
            False, "review", "; ".join(problems[:3]), feedback="Fix these findings: " + "; ".join(problems[:5])
        )
    return Verdict(True, "review", f"{len(value['findings'])} finding(s), all at reviewed lines")


def _groups(segments: list[Segment], budget: int) -> list[list[Segment]]:
    groups: list[list[Segment]] = [[]]
    used = 0
    for s in segments:
        cost = estimate_tokens(s.text) + 16
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(s)
        used += cost
    return [g for g in groups if g]


async def review(
    engine: Engine,
    segments: list[Segment],
    *,
    focus: str = "",
    min_confidence: float = 0.6,
    model: str = "auto",
    ctx: RequestContext | None = None,
) -> ReviewResult:
    """Review ``segments`` (from :func:`file_segments` or :func:`diff_segments`), in as many calls as fit."""
    if not segments:
        raise InvalidRequest("nothing to review (empty files or an empty diff)")
    result = ReviewResult(segments=len(segments))
    budget = max(512, context_budget(engine, "review", SYSTEM, max_tokens=2048))
    for group in _groups(segments, budget):
        code = "\n\n".join(f"### {s.path}\n{s.text}" for s in group)
        prompt = (f"Review this code{' (focus: ' + focus + ')' if focus else ''}. Lines are numbered; cite the "
                  f"file and line number shown.\n\n{code}\n\nReply with JSON {{\"findings\": [...]}}.")  # fmt: skip
        gen = await generate_json(
            engine, worker="review", kind="review", prompt=prompt, system=SYSTEM, schema=FINDINGS_SCHEMA,
            verifiers=[ValueVerifier("review", functools.partial(_check, group))], model=model, max_tokens=2048,
            temperature=0.1, ctx=ctx,
        )  # fmt: skip
        if gen.journal_id:
            result.generations.append(gen.journal_id)
        for f in gen.value["findings"]:
            finding = Finding(**{k: f[k] for k in FINDINGS_SCHEMA["properties"]["findings"]["items"]["required"]})
            finding.needs_escalation = finding.severity in ("high", "critical") or finding.confidence < min_confidence
            result.findings.append(finding)
    result.findings.sort(key=lambda f: (-SEVERITIES.index(f.severity), f.file, f.line))
    return result
