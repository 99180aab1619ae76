"""Verifiers: check a model's answer before the cascade accepts it.

Each class implements :class:`~offload.routing.verdict.Verifier`: ``await verify(request, response)`` returns a
:class:`~offload.routing.verdict.Verdict` — passed, failed (with ``feedback`` a repair round can send back), or
``ok=None`` when the answer could not be checked. Verifiers never raise for a bad answer.

:func:`verifiers_for` builds the list for a :class:`~offload.routing.task.Task`: JSON / JSON-schema checks for
JSON answers; for code tasks "parses", "defines the asked-for names", and — when the task states examples or
the caller gave tests or a command — runs them in the sandbox. A code task with nothing to run is
*unverified* (``ok=None``): the policy decides.

Below the verifiers: the probe harness (:func:`run_probes` runs many calls against one answer in ONE sandbox
process, each with its own time limit), the extra checks that cut false accepts (:func:`extra_probes`,
:func:`check_examples`) and :func:`agree`, which groups several candidate answers by how they behave.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators

from offload.errors import InvalidRequest
from offload.routing.codeblocks import defined_names, extract_json, extract_python
from offload.routing.examples import Example, extract_examples, find_signature
from offload.routing.sandbox import SandboxResult, run_command_async, run_python_async
from offload.routing.task import Task
from offload.routing.verdict import Verdict, Verifier
from offload.types import ChatRequest, ChatResponse

__all__ = [
    "CODE_KINDS",
    "agree",
    "check_examples",
    "CommandVerifier",
    "context_code",
    "entry_point_of",
    "example_probes",
    "examples_verdict",
    "ExamplesVerifier",
    "extra_probes",
    "Group",
    "group_runs",
    "JsonSchemaVerifier",
    "JsonVerifier",
    "NamesExistVerifier",
    "NothingRunnable",
    "Probe",
    "probe_all",
    "ProbeResult",
    "ProbeRun",
    "PythonParsesVerifier",
    "run_probes",
    "stated_properties",
    "suspect_examples",
    "TestsVerifier",
    "verifiers_for",
]

#: Task kinds whose answer is code to check.
CODE_KINDS = frozenset({"code_generation", "refactor", "test_generation", "debug"})
_STUB = re.compile(r"^[ \t]*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_NAMED = re.compile(
    r"\b(?:function|method|def)\s+(?:called\s+|named\s+)?(?:`([A-Za-z_]\w*)(?:\(.*?\))?`|([A-Za-z_]\w*)\s*\()"
)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _code_of(response: ChatResponse, names: list[str]) -> str | None:
    return extract_python(response.content or "", names)


class JsonVerifier:
    """The answer is JSON (fences, surrounding prose and common near-JSON are repaired first)."""

    name = "json"

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        try:
            extract_json(response.content or "")
        except ValueError as exc:
            return Verdict(False, self.name, str(exc), feedback=f"Answer with valid JSON only. ({exc})")
        return Verdict(True, self.name, "valid JSON")


class JsonSchemaVerifier:
    """The answer is JSON valid against ``schema``; feedback lists the first errors with their paths."""

    name = "json_schema"

    def __init__(self, schema: dict, *, max_errors: int = 3) -> None:
        cls = validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema_exceptions.SchemaError as exc:
            raise InvalidRequest(
                f"the JSON schema given for verification is invalid: {exc.message}",
                hint="fix the schema (see https://json-schema.org) or drop json_schema from the task",
            ) from exc
        self.schema = schema
        self._validator = cls(schema)
        self.max_errors = max_errors

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        try:
            value = extract_json(response.content or "")
        except ValueError as exc:
            return Verdict(False, self.name, str(exc), feedback=f"Answer with JSON only. ({exc})")
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            return Verdict(True, self.name, "valid against the schema")
        lines = []
        for err in errors[: self.max_errors]:
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            lines.append(f"at {path}: {_short(err.message, 200)}")
        more = f" (+{len(errors) - self.max_errors} more)" if len(errors) > self.max_errors else ""
        detail = "; ".join(lines) + more
        return Verdict(False, self.name, detail, feedback="The JSON does not match the schema: " + detail)


class PythonParsesVerifier:
    """The answer holds Python code that parses (the block defining ``names`` is chosen when there are several)."""

    name = "python_parses"

    def __init__(self, names: list[str] | None = None) -> None:
        self.names = list(names or [])

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        code = _code_of(response, self.names)
        if code is None:
            return Verdict(False, self.name, "no Python code in the answer",
                           feedback="Answer with the Python code in a ```python block.")  # fmt: skip
        try:
            compile(code, "solution.py", "exec")
        except SyntaxError as exc:
            where = f"line {exc.lineno}: {exc.msg}"
            return Verdict(False, self.name, f"syntax error at {where}", feedback=f"The code does not parse ({where}).")
        except ValueError as exc:
            return Verdict(False, self.name, f"invalid source: {exc}", feedback="The code does not parse.")
        return Verdict(True, self.name, "parses")


class NamesExistVerifier:
    """The answer's code defines every name in ``names`` at top level (functions, classes, assignments)."""

    name = "names_exist"

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        code = _code_of(response, self.names)
        missing = [n for n in self.names if n not in defined_names(code or "")]
        if missing:
            listed = ", ".join(f"`{n}`" for n in missing)
            return Verdict(False, self.name, f"missing: {listed}", feedback=f"The code must define {listed}.")
        return Verdict(True, self.name, "defines " + ", ".join(self.names))


class NothingRunnable:
    """Stands for a code task with no examples, tests or command: the answer is *unverified* (``ok=None``)."""

    name = "runnable_checks"

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        return Verdict(None, self.name, "no examples, tests or command to run the code against")


class ExamplesVerifier:
    """Runs the task's stated examples against the answer's code: one sandbox process for all of them.

    ``context`` is code from the task itself (imports, helper functions of a stub) executed before the
    answer. With ``extra_checks`` the code must also behave on inputs next to the examples (see
    :func:`offload.routing.probes.check_examples`). The first failing example becomes the repair feedback.
    """

    name = "examples"

    def __init__(
        self,
        examples: list[Example],
        *,
        names: list[str] | None = None,
        context: str = "",
        source: str = "",
        timeout_s: float = 10.0,
        per_example_s: float = 2.0,
        extra_checks: bool = True,
    ) -> None:
        self.examples = list(examples)
        self.names = list(names or sorted({e.func for e in examples}))
        self.context = context
        self.source = source
        self.timeout_s = timeout_s
        self.per_example_s = per_example_s
        self.extra_checks = extra_checks

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        code = _code_of(response, self.names)
        if code is None:
            return Verdict(False, self.name, "no Python code to run", feedback="Answer with Python code.")
        return await self.check_code(code)

    async def check_code(self, code: str) -> Verdict:
        """Check ``code`` (already extracted) against the examples."""
        return await check_examples(
            code, self.examples, context=self.context, source=self.source, timeout_s=self.timeout_s,
            per_call_s=self.per_example_s, extra_checks=self.extra_checks, verifier=self.name,
        )  # fmt: skip


_TEST_RUNNER = """
import json, sys, traceback
sys.path.insert(0, ".")
TOKEN = {token!r}
def report(ok, detail):
    sys.__stdout__.write(TOKEN + json.dumps({{"ok": ok, "detail": detail}}) + "\\n")
    sys.__stdout__.flush()
def failure(where, exc):
    tb = traceback.extract_tb(exc.__traceback__)
    line = next((f"line {{f.lineno}}: {{f.line}}" for f in reversed(tb) if f.filename.endswith("test_solution.py")), "")
    return f"{{where}}: {{type(exc).__name__}}: {{exc}}" + (f" ({{line}})" if line else "")
namespace = {{"__name__": "test_solution"}}
try:
    exec(compile(open("solution.py").read(), "solution.py", "exec"), namespace)
except BaseException as exc:
    report(False, failure("loading the solution", exc)); sys.exit(0)
try:
    exec(compile(open("test_solution.py").read(), "test_solution.py", "exec"), namespace)
except BaseException as exc:
    report(False, failure("the tests' top level", exc)); sys.exit(0)
tests = [(n, f) for n, f in list(namespace.items()) if n.startswith("test") and callable(f)]
for name, func in tests:
    try:
        func()
    except BaseException as exc:
        report(False, failure(name, exc)); sys.exit(0)
report(True, f"{{len(tests)}} test functions passed" if tests else "the test code ran without errors")
"""


class TestsVerifier:
    """Caller-supplied tests (``test_*`` functions and/or plain asserts) run against the answer in the sandbox.

    The answer is written to ``solution.py`` and its names are visible to the tests (``from solution import f``
    works too). The first failing test and its assertion become the repair feedback.
    """

    name = "tests"
    __test__ = False  # not a pytest test class

    def __init__(self, tests: str, *, names: list[str] | None = None, timeout_s: float = 10.0) -> None:
        self.tests = tests
        self.names = list(names or [])
        self.timeout_s = timeout_s

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        code = _code_of(response, self.names)
        if code is None:
            return Verdict(False, self.name, "no Python code to test", feedback="Answer with Python code.")
        token = "@@offload-" + secrets.token_hex(8) + "@@"
        result = await run_python_async(
            _TEST_RUNNER.format(token=token),
            timeout_s=self.timeout_s,
            files={"solution.py": code, "test_solution.py": self.tests},
        )
        for line in result.stdout.splitlines():
            if line.startswith(token):
                data = json.loads(line[len(token) :])
                if data["ok"]:
                    return Verdict(True, self.name, data["detail"])
                return Verdict(False, self.name, _short(data["detail"]), feedback="A test failed: " + data["detail"])
        detail = f"the tests did not finish: {result.describe()}"
        return Verdict(False, self.name, detail, feedback=detail)


class CommandVerifier:
    """A shell command run in the sandbox directory with the answer's code in ``solution.py``; exit 0 passes."""

    name = "command"

    def __init__(self, command: str, *, names: list[str] | None = None, timeout_s: float = 10.0) -> None:
        self.command = command
        self.names = list(names or [])
        self.timeout_s = timeout_s

    async def verify(self, request: ChatRequest, response: ChatResponse) -> Verdict:
        code = _code_of(response, self.names)
        if code is None:
            code = response.content or ""
        result = await run_command_async(self.command, timeout_s=self.timeout_s, files={"solution.py": code})
        if result.ok:
            return Verdict(True, self.name, f"`{_short(self.command, 80)}` exited 0")
        tail = _short((result.stdout + result.stderr).strip()[-600:], 600)
        detail = f"`{_short(self.command, 80)}`: {result.describe()}"
        return Verdict(False, self.name, detail, feedback=f"The check command failed ({result.describe()}):\n{tail}")


def entry_point_of(text: str) -> str | None:
    """The function a code prompt asks for: the last ``def name(`` stub without a body, else the last ``def``;
    in prose, the first "function name(...)" / "a function called `name`"."""
    stubs = _STUB.findall(text)
    if not stubs:
        named = _NAMED.search(text)
        if named:
            return named.group(1) or named.group(2)
        return _called_in_examples(text)
    for name in reversed(stubs):
        sig = find_signature(text, name)
        body = re.search(rf"def\s+{re.escape(name)}\s*\(.*?\).*?:\s*\n(.*?)(?=^\S|\Z)", text, re.S | re.M)
        if sig is not None and (body is None or _is_stub_body(body.group(1))):
            return name
    return stubs[-1]


_DOCTEST_CALL = re.compile(r"^\s*>>>\s*(?:print\()?([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_BUILTINS = frozenset({"print", "len", "range", "str", "int", "list", "dict", "set", "sorted", "sum", "max", "min",
                       "abs", "round", "type", "isinstance", "tuple", "float", "bool", "map", "filter"})  # fmt: skip


def _called_in_examples(text: str) -> str | None:
    """With no stub and no "function name(...)" in the prose (``Write is_prime(n). >>> is_prime(7)``): the one
    function the ``>>>`` examples call, when they all call the same one."""
    called = {n for n in _DOCTEST_CALL.findall(text) if n not in _BUILTINS}
    return called.pop() if len(called) == 1 else None


def _is_stub_body(body: str) -> bool:
    """A body holding only a docstring, ``pass``, ``...`` or comments."""
    code = re.sub(r'("""|\'\'\').*?\1', "", body, flags=re.S)
    lines = [ln.strip() for ln in code.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return all(ln in ("pass", "...") for ln in lines)


def verifiers_for(task: Task, kind: str | None = None) -> list[Verifier]:
    """The verifiers that apply to ``task`` (``kind`` is the classified kind when the task has none)."""
    spec = task.verify
    request = task.request
    out: list[Verifier] = []
    fmt = request.response_format
    schema = spec.json_schema or (fmt.json_schema if fmt.type == "json_schema" else None)
    if schema:
        out.append(JsonSchemaVerifier(schema))
    elif spec.json_only or fmt.type in ("json", "json_schema"):
        out.append(JsonVerifier())
    kind = task.kind or kind
    code_task = kind in CODE_KINDS or bool(spec.names or spec.tests or spec.command)
    if not code_task or out:
        return out
    source = task.source_text
    if source is None:
        users = [m.text_content for m in request.messages if m.role == "user"]
        source = users[-1] if users else ""
    entry = entry_point_of(source)
    names = list(spec.names) or ([entry] if entry else [])
    out.append(PythonParsesVerifier(names))
    if names:
        out.append(NamesExistVerifier(names))
    runnable = False
    if spec.tests:
        out.append(TestsVerifier(spec.tests, names=names, timeout_s=spec.timeout_s))
        runnable = True
    if spec.command:
        out.append(CommandVerifier(spec.command, names=names, timeout_s=spec.timeout_s))
        runnable = True
    if spec.examples:
        examples = extract_examples(source, entry, names)
        if examples:
            out.append(ExamplesVerifier(examples, names=names, context=context_code(source, entry), source=source,
                                        timeout_s=spec.timeout_s))  # fmt: skip
            runnable = True
    if not runnable:
        out.append(NothingRunnable())
    return out


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
        return Verdict(False, verifier, _short(run.load_error), feedback=f"The code failed to run: {run.load_error}")
    copied = _memorised(run.code, examples)
    if copied is not None:
        text = f"The code returns the expected result of `{copied.call}` as a constant instead of computing it."
        return Verdict(False, verifier, text, feedback=text)
    for ex, res in zip(examples, run.results, strict=False):
        if res.status != "ok" or not res.match:
            text = _feedback(ex, res)
            return Verdict(False, verifier, _short(text), feedback=text)
    allowed = {_family(ast.literal_eval(ex.expected)) for ex in examples if ex.mode == "value"}
    if re.search(r"\bNone\b", source):
        allowed.add("None")
    extras = list(zip(run.probes[len(examples) :], run.results[len(examples) :], strict=False))
    unsure = ""
    for probe, res in extras:
        if res.failed_checks:
            text = f"`{probe.call}` returned {res.value}, which is not {' and '.join(res.failed_checks)} as the task states."
            return Verdict(False, verifier, _short(text), feedback=text)
        odd_type = res.status == "ok" and allowed and res.family not in allowed
        if odd_type and probe.kind != "edge":
            text = (f"`{probe.call}` returned {res.value} (a {res.family}); "
                    f"the examples return {'/'.join(sorted(allowed))}.")  # fmt: skip
            return Verdict(False, verifier, _short(text), feedback=text)
        if (odd_type or res.status != "ok") and not unsure:
            unsure = f"`{probe.call}` gave {res.value}" if res.status == "ok" else f"`{probe.call}`: {res.value}"
    detail = f"{len(examples)} example(s) passed"
    if unsure:
        return Verdict(None, verifier, f"{detail}, but an input next to them did not behave: {_short(unsure, 200)}")
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
