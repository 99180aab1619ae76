"""Probes: many calls against one answer in one sandbox process; extra checks next to the examples;
agreement among several candidates. Used by the examples verifier and the HumanEval cascade bench."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from offload.routing.examples import Example
from offload.routing.sandbox import SandboxResult, run_python_async
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
    "stated_properties",
    "suspect_examples",
]

#: Task kinds whose answer is code to check.
CODE_KINDS = frozenset({"code_generation", "refactor", "test_generation", "debug"})


def short_text(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- probes: many calls against one answer, in one sandbox process --------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One expression to evaluate against an answer's code."""

    call: str
    #: ``repr`` of the expected value ("value" mode) or the wanted text ("repr" mode); None = just run it.
    expected: str | None = None
    mode: str = "value"
    setup: tuple[str, ...] = ()
    #: "example" (stated by the task) or "extra" (an input next to one; checked for behaviour, not value).
    kind: str = "example"
    #: Properties the value must have: "sorted", "unique", "subset" (of the first argument), "same_length".
    checks: tuple[str, ...] = ()

    @classmethod
    def from_example(cls, example: Example, checks: tuple[str, ...] = ()) -> Probe:
        return cls(example.call, example.expected, example.mode, example.setup, "example", checks)


@dataclass(frozen=True)
class ProbeResult:
    """How one probe went."""

    #: "ok", "error" (raised), "timeout", "skipped" (extra inputs are not run once an example raised or timed
    #: out, or two examples failed), or "not_run" (the process died before reaching it).
    status: str
    #: Whether the value equals the expected one (None when nothing was expected or it did not run).
    match: bool | None = None
    #: Short ``repr`` of the value, or the exception.
    value: str = ""
    #: Type family of the value: "number", "bool", "str", "list", "tuple", "dict", "set", "None", ...
    family: str = ""
    #: Canonical form of the value (floats rounded, sets sorted) for comparing candidates.
    fingerprint: str = ""
    #: Names of the probe's property checks that failed.
    failed_checks: tuple[str, ...] = ()


@dataclass
class ProbeRun:
    """All probe results of one answer."""

    loaded: bool
    load_error: str
    results: list[ProbeResult]
    sandbox: SandboxResult | None = None
    probes: list[Probe] = field(default_factory=list)
    #: The answer's code the probes ran against.
    code: str = ""

    def signature(self) -> tuple[str, ...]:
        """The answer's behaviour on every probe, for grouping candidates that agree."""
        if not self.loaded:
            return ("load-error",)
        return tuple(r.fingerprint if r.status == "ok" else f"!{r.status}" for r in self.results)


_HARNESS = r"""
import ast, contextlib, hashlib, io, json, math, signal, sys
TOKEN = open("token.txt").read()
PROBES = json.loads(open("probes.json").read())
PER_CALL, LOAD_S = PER_CALL_S, LOAD_TIMEOUT_S
class _Timeout(BaseException):
    pass
def _alarm(*_):
    raise _Timeout()
def emit(obj):
    sys.__stdout__.write(TOKEN + json.dumps(obj) + "\n")
    sys.__stdout__.flush()
class _Sink(io.StringIO):
    def write(self, s):
        if self.tell() < 20000:
            super().write(s[:20000])
        return len(s)
def timed(fn, seconds):
    sink = _Sink()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return fn(), sink.getvalue()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
def family(v):
    if v is None: return "None"
    if isinstance(v, bool): return "bool"
    if isinstance(v, (int, float)): return "number"
    return type(v).__name__
def fp(v, depth=0):
    if depth > 20: return "..."
    if isinstance(v, bool) or v is None: return repr(v)
    if isinstance(v, float):
        return repr(round(v, 6)) if math.isfinite(v) else repr(v)
    if isinstance(v, (int, str, bytes)): return repr(v)
    if isinstance(v, list): return "[" + ",".join(fp(x, depth + 1) for x in v) + "]"
    if isinstance(v, tuple): return "(" + ",".join(fp(x, depth + 1) for x in v) + ")"
    if isinstance(v, dict): return "{" + ",".join(sorted(fp(k, depth + 1) + ":" + fp(x, depth + 1) for k, x in v.items())) + "}"
    if isinstance(v, (set, frozenset)): return "set(" + ",".join(sorted(fp(x, depth + 1) for x in v)) + ")"
    return type(v).__name__ + ":" + repr(v)[:200]
def short_fp(v):
    s = fp(v)
    return s if len(s) <= 400 else "#" + hashlib.sha1(s.encode()).hexdigest() + ":" + str(len(s))
def eq(a, e):
    if isinstance(e, bool) or isinstance(a, bool):
        return type(a) is type(e) and a == e
    if isinstance(e, (int, float)) and isinstance(a, (int, float)):
        return a == e or (math.isfinite(a) and math.isfinite(e) and math.isclose(a, e, rel_tol=1e-6, abs_tol=1e-9))
    if isinstance(e, (list, tuple)):
        return type(a) is type(e) and len(a) == len(e) and all(eq(x, y) for x, y in zip(a, e))
    if isinstance(e, dict):
        return isinstance(a, dict) and a.keys() == e.keys() and all(eq(a[k], e[k]) for k in e)
    try:
        return bool(a == e)
    except Exception:
        return False
def first_arg(call):
    try:
        node = ast.parse(call, mode="eval").body
        return ast.literal_eval(node.args[0])
    except Exception:
        return None
def failed_checks(checks, call, v):
    bad = []
    for c in checks:
        try:
            if c == "sorted": ok = isinstance(v, list) and all(x <= y for x, y in zip(v, v[1:]))
            elif c == "unique": ok = isinstance(v, list) and len({repr(x) for x in v}) == len(v)
            elif c == "subset":
                src = first_arg(call)
                ok = isinstance(v, list) and src is not None and all(x in src for x in v)
            elif c == "same_length":
                src = first_arg(call)
                ok = hasattr(v, "__len__") and src is not None and len(v) == len(src)
            else: ok = True
        except Exception:
            ok = False
        if not ok: bad.append(c)
    return bad
ns = {"__name__": "solution", "__builtins__": __builtins__}
for fname in ("context.py", "solution.py"):
    try:
        src = open(fname).read()
        timed(lambda: exec(compile(src, fname, "exec"), ns), LOAD_S)
    except _Timeout:
        emit({"load": f"{fname}: timed out while loading"}); sys.exit(0)
    except BaseException as exc:
        emit({"load": f"{fname}: {type(exc).__name__}: {exc}"[:500]}); sys.exit(0)
emit({"load": "ok"})
failed, broke = 0, False
for i, p in enumerate(PROBES):
    rec = {"i": i}
    if (failed >= 2 or broke) and p["kind"] != "example":
        emit({"i": i, "status": "skipped", "value": "skipped: an example failed"})
        continue
    try:
        for stmt in p["setup"]:
            timed(lambda: exec(stmt, ns), PER_CALL)
        def call():
            v = eval(p["call"], ns)
            return v, short_fp(v), family(v), failed_checks(p["checks"], p["call"], v)
        (value, fingerprint, fam, bad), printed = timed(call, PER_CALL)
        rec.update(status="ok", value=repr(value)[:300], fingerprint=fingerprint, family=fam, failed=bad)
        if p["expected"] is not None:
            if p["mode"] == "value":
                rec["match"] = eq(value, ast.literal_eval(p["expected"]))
            else:
                want = " ".join(p["expected"].split())
                shown = [repr(value), str(value), printed.strip()]
                rec["match"] = any(" ".join(s.split()) == want for s in shown)
    except _Timeout:
        rec.update(status="timeout", value=f"timed out after {PER_CALL}s")
    except RecursionError:
        rec.update(status="error", value="RecursionError: maximum recursion depth exceeded")
    except BaseException as exc:
        rec.update(status="error", value=f"{type(exc).__name__}: {exc}"[:300])
    if p["kind"] == "example" and p["expected"] is not None and not rec.get("match"):
        failed, broke = failed + 1, broke or rec["status"] != "ok"
    emit(rec)
"""


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
    harness = _HARNESS.replace("PER_CALL_S", repr(float(per_call_s))).replace("LOAD_TIMEOUT_S", repr(load_s))
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


# -- extra checks: inputs next to the examples, stated properties, result types -------------------------------

_PROPERTY_WORDS = {
    "sorted": re.compile(r"\bsort(?:ed)?\b|\bascending\b|\bincreasing order\b|smallest to largest", re.I),
    "unique": re.compile(r"\bunique\b|\bdistinct\b|\bduplicates?\b", re.I),
    "subset": re.compile(r"\bfilter|\bonly\b|\bremov|\bselect|\bdelet", re.I),
}
_MAX_EXTRA = 16


def _family(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _direct_call(call: str) -> tuple[str, list[object]] | None:
    """``(name, literal args)`` of ``name(literal, ...)``; None for anything else."""
    try:
        node = ast.parse(call, mode="eval").body
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.keywords:
            return None
        return node.func.id, [ast.literal_eval(a) for a in node.args]
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None


def _value_examples(examples: list[Example]) -> list[tuple[list[object], object]]:
    out = []
    for ex in examples:
        direct = _direct_call(ex.call) if ex.mode == "value" else None
        if direct is not None:
            out.append((direct[1], ast.literal_eval(ex.expected)))
    return out


def _is_sorted(values: list[Any]) -> bool:
    try:
        return all(x <= y for x, y in zip(values, values[1:], strict=False))
    except TypeError:
        return False


def _within(items: list[Any], source: object) -> bool:
    try:
        return all(x in source for x in items)  # type: ignore[operator]
    except TypeError:
        return False


def stated_properties(examples: list[Example], source: str) -> tuple[str, ...]:
    """Properties of the result that the task states (by keyword) and every example's result satisfies:
    "sorted", "unique", "subset" (of the first argument); "same_length" (as the first argument) is taken
    from the examples alone when at least two, with lists longer than one, all keep the length."""
    pairs = [(args, out) for args, out in _value_examples(examples) if isinstance(out, list)]
    if not pairs:
        return ()
    longer = any(len(o) > 1 for _, o in pairs)
    firsts = [(a[0], o) for a, o in pairs if a and isinstance(a[0], list | str)]
    all_firsts = len(firsts) == len(pairs)
    rules = {
        "sorted": longer and all(_is_sorted(o) for _, o in pairs),
        "unique": longer and all(len({repr(x) for x in o}) == len(o) for _, o in pairs),
        "subset": all_firsts and any(o for _, o in firsts) and all(_within(o, src) for src, o in firsts),
    }
    props = [name for name, holds in rules.items() if holds and _PROPERTY_WORDS[name].search(source)]
    keeps_length = all(isinstance(src, list) and len(src) == len(o) for src, o in firsts)
    if all_firsts and len(firsts) >= 2 and any(len(o) > 1 for _, o in firsts) and keeps_length:
        props.append("same_length")
    return tuple(props)


def _variants(value: object, fixed_length: bool) -> list[tuple[object, str]]:
    """Inputs next to one argument, with their tier.

    "near" (inside what the task promises, as far as one can tell): ints ±1; an int list's last element +1 or
    dropped; a list reversed; a list of strings with each string reversed; a string shortened by one or
    reversed. "edge" (possibly outside it): one element, empty, a string with its case swapped. With
    ``fixed_length`` (the call takes several sequences of one length, e.g. pairs) lengths are kept.
    """
    if isinstance(value, bool) or not isinstance(value, int | list | str):
        return []
    if isinstance(value, int):
        return [(value - 1, "near"), (value + 1, "near")]
    out: list[tuple[object, str]] = []
    if isinstance(value, list) and value:
        if all(type(x) is int for x in value):
            out.append(([*value[:-1], value[-1] + 1], "near"))
            if not fixed_length:
                out.append((value[:-1], "near"))
        if not fixed_length:
            out.append((value[::-1], "near"))
            if all(isinstance(x, str) for x in value):
                out.append(([x[::-1] for x in value], "near"))
            out += [(value[:1], "edge"), ([], "edge")]
    elif isinstance(value, str) and len(value) > 1 and not fixed_length:
        out += [(value[:-1], "near"), (value[::-1], "near"), (value[:1], "edge"), ("", "edge")]
        out.append((value.swapcase(), "edge"))
    return [(v, tier) for v, tier in out if v != value]


def extra_probes(examples: list[Example], source: str, *, limit: int = _MAX_EXTRA) -> list[Probe]:
    """Calls next to the examples' ("near": each int ±1, an int list's last element +1 or dropped, a string
    shortened; "edge": one element, empty) and at numbers the task text names ("near"), for checking
    behaviour — no crash, a result type the examples have, the stated properties — not values."""
    seen = {ex.call for ex in examples}
    per_example: list[list[tuple[str, str]]] = []
    direct = [d for d in (_direct_call(ex.call) for ex in examples if ex.mode == "value") if d]
    for name, args in direct:
        calls = []
        sized = [len(a) for a in args if isinstance(a, list | str)]
        paired = len(sized) >= 2 and len(set(sized)) == 1  # e.g. two lists of equal length: keep lengths
        for i, arg in enumerate(args):
            for variant, tier in _variants(arg, paired):
                calls.append((f"{name}({', '.join(repr(a) for a in [*args[:i], variant, *args[i + 1 :]])})", tier))
        per_example.append(calls)
    stated = {repr(a) for _, args in direct for a in args} | {ex.expected for ex in examples}
    numbers = sorted({int(n) for n in re.findall(r"(?<![\w.\[,])-?\d{1,6}(?![\w.])", source)} - {0})
    numbers = [n for n in numbers if repr(n) not in stated][:6]  # numbers the prose names, not the examples
    if direct:
        name, args = direct[0]
        int_pos = [i for i, a in enumerate(args) if type(a) is int]
        if int_pos:
            per_example.append([(f"{name}({', '.join(repr(n if j == int_pos[0] else a) for j, a in enumerate(args))})",
                                 "near") for n in numbers])  # fmt: skip
    out: list[Probe] = []
    for round_ in range(max((len(c) for c in per_example), default=0)):
        for calls in per_example:
            if round_ < len(calls) and calls[round_][0] not in seen and len(out) < limit:
                call, tier = calls[round_]
                seen.add(call)
                out.append(Probe(call, kind=tier))
    return out


def _memorised(code: str, examples: list[Example]) -> Example | None:
    """The example whose expected value (a collection of two or more items) the code returns as a constant —
    an answer copied from the task instead of computed."""
    wanted: dict[str, Example] = {}
    for ex in examples:
        if ex.mode == "value":
            value = ast.literal_eval(ex.expected)
            if isinstance(value, list | tuple | dict | set) and len(value) >= 2:
                wanted.setdefault(repr(value), ex)
    if not wanted or not code:
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            try:
                returned = repr(ast.literal_eval(node.value))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if returned in wanted:
                return wanted[returned]
    return None


def _feedback(ex: Example, res: ProbeResult) -> str:
    if res.status == "ok":
        return f"Example failed: `{ex.call}` should return `{ex.expected}` but returned `{res.value}`."
    if res.status == "timeout":
        return f"Example failed: `{ex.call}` (expected `{ex.expected}`) did not finish: {res.value}."
    return f"Example failed: `{ex.call}` (expected `{ex.expected}`) raised {res.value}."


def example_probes(examples: list[Example], source: str, *, extra_checks: bool = True) -> list[Probe]:
    """The probes :func:`check_examples` runs: the examples, then (``extra_checks``) the extra inputs."""
    checks = stated_properties(examples, source) if extra_checks else ()
    probes = [Probe.from_example(ex, checks) for ex in examples]
    if extra_checks:
        probes += [Probe(p.call, kind=p.kind, checks=checks) for p in extra_probes(examples, source)]
    return probes


def examples_verdict(examples: list[Example], run: ProbeRun, verifier: str = "examples", source: str = "") -> Verdict:
    """Judge a :class:`ProbeRun` of :func:`example_probes`.

    Fails when the code returns an example's expected collection as a constant (copied, not computed); on
    the first failing example (feedback: call, expected, actual); on a "near" extra input whose
    result has a type no example has; on any extra input breaking a stated property. Unverified (``ok=None``)
    when an extra input crashes or hangs, or an "edge" input (empty, one element) gives an unexpected type:
    such inputs may lie outside what the task promises, but the answer is no longer sure enough to accept.
    """
    if not run.loaded:
        return Verdict(
            False, verifier, short_text(run.load_error), feedback=f"The code failed to run: {run.load_error}"
        )
    copied = _memorised(run.code, examples)
    if copied is not None:
        text = f"The code returns the expected result of `{copied.call}` as a constant instead of computing it."
        return Verdict(False, verifier, text, feedback=text)
    for ex, res in zip(examples, run.results, strict=False):
        if res.status != "ok" or not res.match:
            text = _feedback(ex, res)
            return Verdict(False, verifier, short_text(text), feedback=text)
    allowed = {_family(ast.literal_eval(ex.expected)) for ex in examples if ex.mode == "value"}
    if re.search(r"\bNone\b", source):
        allowed.add("None")
    extras = list(zip(run.probes[len(examples) :], run.results[len(examples) :], strict=False))
    unsure = ""
    for probe, res in extras:
        if res.failed_checks:
            text = f"`{probe.call}` returned {res.value}, which is not {' and '.join(res.failed_checks)} as the task states."
            return Verdict(False, verifier, short_text(text), feedback=text)
        odd_type = res.status == "ok" and allowed and res.family not in allowed
        if odd_type and probe.kind != "edge":
            text = (f"`{probe.call}` returned {res.value} (a {res.family}); "
                    f"the examples return {'/'.join(sorted(allowed))}.")  # fmt: skip
            return Verdict(False, verifier, short_text(text), feedback=text)
        if (odd_type or res.status != "ok") and not unsure:
            unsure = f"`{probe.call}` gave {res.value}" if res.status == "ok" else f"`{probe.call}`: {res.value}"
    detail = f"{len(examples)} example(s) passed"
    if unsure:
        return Verdict(None, verifier, f"{detail}, but an input next to them did not behave: {short_text(unsure, 200)}")
    return Verdict(True, verifier, detail + (f", {len(extras)} extra input(s) behaved" if extras else ""))


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
