"""Probes: many calls against one answer in one sandbox process; extra checks next to the examples;
agreement among several candidates. Used by the examples verifier and the HumanEval cascade bench.

The probe types live in :mod:`offload.routing.probes_types`, the in-sandbox script in
:mod:`offload.routing.probes_harness`, the extra checks and the examples verdict in
:mod:`offload.routing.probes_checks`; the public names are re-exported here.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import secrets
from dataclasses import dataclass

from offload.routing.classify_profile import CODE_KINDS
from offload.routing.examples_types import Example
from offload.routing.probes_checks import example_probes, examples_verdict, extra_probes, short_text, stated_properties
from offload.routing.probes_harness import HARNESS_SOURCE
from offload.routing.probes_types import Probe, ProbeResult, ProbeRun
from offload.routing.sandbox import run_python_async
from offload.routing.verdict import Verdict

__all__ = [
    "CODE_KINDS",
    "agree",
    "check_examples",
    "context_code",
    "example_probes",
    "examples_verdict",
    "extra_probes",
    "Group",
    "group_runs",
    "Probe",
    "probe_all",
    "ProbeResult",
    "ProbeRun",
    "run_probes",
    "short_text",
    "stated_properties",
    "suspect_examples",
]

#: Task kinds whose answer is code to check.


def context_code(source: str, entry_point: str | None) -> str:
    """Code the task itself provides around the stub: imports, helper functions, constants (Python only)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ""
    keep: list[ast.stmt] = []
    for node in tree.body:
        if (
            isinstance(node, ast.Import | ast.ImportFrom | ast.ClassDef | ast.Assign | ast.AnnAssign)
            or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name != entry_point
        ):
            keep.append(node)
    return "\n\n".join(ast.unparse(n) for n in keep) + ("\n" if keep else "")


async def run_probes(
    code: str, probes: list[Probe], *, context: str = "", timeout_s: float = 10.0, per_call_s: float = 2.0
) -> ProbeRun:
    """Load ``context`` then ``code``, evaluate every probe (each limited to ``per_call_s``), in one process.

    ``timeout_s`` bounds the whole run; probes the process did not reach are reported as "not_run". Once an
    example raised or timed out, or two examples gave wrong values, the non-example probes are "skipped": the
    answer has failed, and it cannot be one of the answers that make :func:`suspect_examples` suspect one.
    """
    token = "@@offload-" + secrets.token_hex(8) + "@@"
    load_s = max(1.0, min(5.0, timeout_s / 3))
    harness = HARNESS_SOURCE.replace("PER_CALL_S", repr(float(per_call_s))).replace("LOAD_TIMEOUT_S", repr(load_s))
    payload = [{"call": p.call, "expected": p.expected, "mode": p.mode, "setup": list(p.setup),
                "checks": list(p.checks), "kind": p.kind} for p in probes]  # fmt: skip
    files = {"solution.py": code, "context.py": context, "probes.json": json.dumps(payload), "token.txt": token}
    result = await run_python_async(harness, timeout_s=timeout_s, files=files, output_cap=1_000_000)
    records: dict[int, dict] = {}
    load_error = "the harness did not start: " + result.describe()
    loaded = False
    for line in result.stdout.splitlines():
        if not line.startswith(token):
            continue
        data = json.loads(line[len(token) :])
        if "load" in data:
            loaded = data["load"] == "ok"
            load_error = "" if loaded else data["load"]
        else:
            records[data["i"]] = data
    results = []
    for i in range(len(probes)):
        rec = records.get(i)
        if rec is None:
            why = "the process was stopped: " + result.describe()
            results.append(ProbeResult("not_run", None, why, "", "!not_run"))
            continue
        results.append(ProbeResult(
            status=rec["status"], match=rec.get("match"), value=rec.get("value", ""), family=rec.get("family", ""),
            fingerprint=rec.get("fingerprint", ""), failed_checks=tuple(rec.get("failed", ())),
        ))  # fmt: skip
    return ProbeRun(loaded, load_error, results, result, list(probes), code)


async def check_examples(
    code: str,
    examples: list[Example],
    *,
    context: str = "",
    source: str = "",
    timeout_s: float = 10.0,
    per_call_s: float = 2.0,
    extra_checks: bool = True,
    verifier: str = "examples",
) -> Verdict:
    """Run ``examples`` (and, with ``extra_checks``, the extra inputs) against ``code`` in one sandbox process
    and judge the results with :func:`examples_verdict`."""
    probes = example_probes(examples, source, extra_checks=extra_checks)
    run = await run_probes(code, probes, context=context, timeout_s=timeout_s, per_call_s=per_call_s)
    return examples_verdict(examples, run, verifier, source)


# -- several candidates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Candidates (indices into the list given to :func:`agree`) that behave identically on every input."""

    members: tuple[int, ...]
    signature: tuple[str, ...]


async def probe_all(
    candidates: list[str], probes: list[Probe], *, context: str = "", timeout_s: float = 10.0, per_call_s: float = 2.0
) -> list[ProbeRun]:
    """:func:`run_probes` for each candidate, a few sandboxes at a time."""
    gate = asyncio.Semaphore(max(1, os.cpu_count() or 1))

    async def one(code: str) -> ProbeRun:
        async with gate:
            return await run_probes(code, probes, context=context, timeout_s=timeout_s, per_call_s=per_call_s)

    return list(await asyncio.gather(*(one(c) for c in candidates)))


def group_runs(runs: list[ProbeRun]) -> list[Group]:
    """Group loaded candidates by behaviour, largest group first (ties: earliest candidate first)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, run in enumerate(runs):
        if run.loaded:
            groups.setdefault(run.signature(), []).append(i)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
    return [Group(tuple(members), sig) for sig, members in ordered]


async def agree(
    candidates: list[str],
    inputs: list[str] | list[Probe],
    *,
    context: str = "",
    timeout_s: float = 10.0,
    per_call_s: float = 2.0,
) -> list[Group]:
    """Run every candidate on ``inputs`` (call expressions) and group those that give the same results.

    Crashes and timeouts count as results ("!error", "!timeout"), so a candidate that crashes where the
    others answer lands in its own group. Candidates whose code does not load are left out.
    """
    probes = [p if isinstance(p, Probe) else Probe(p, kind="extra") for p in inputs]
    runs = await probe_all(candidates, probes, context=context, timeout_s=timeout_s, per_call_s=per_call_s)
    return group_runs(runs)


def suspect_examples(runs: list[ProbeRun], n_examples: int, *, min_agreeing: int = 3) -> list[int]:
    """Examples that look wrong rather than the answers (pass runs of *distinct* programs).

    Example ``i`` is suspect when no candidate passes it, while at least ``min_agreeing`` candidates pass every
    other example, fail only ``i`` (with a value, not a crash) and behave identically on every probe — several
    answers agreeing against one stated example. Two candidates of one small model often share one wrong
    idea, hence three by default. A verifier should then report the answer as unverified (``ok=None``), not
    as failed, and never as passed: the policy decides.
    """
    loaded = [r for r in runs if r.loaded and len(r.results) >= n_examples]
    suspects = []
    for i in range(n_examples):
        if any(r.results[i].match for r in loaded):
            continue
        only_i = [
            r for r in loaded
            if r.results[i].status == "ok"
            and all(r.results[j].match for j in range(n_examples) if j != i)
        ]  # fmt: skip
        if len(only_i) >= min_agreeing and len({r.signature() for r in only_i}) == 1:
            suspects.append(i)
    return suspects
