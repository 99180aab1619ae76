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

import json
import re
import secrets

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators

from offload.errors import InvalidRequest
from offload.routing.classify_profile import CODE_KINDS
from offload.routing.codeblocks import defined_names, extract_json, extract_python
from offload.routing.examples import Example, extract_examples, find_signature
from offload.routing.probes import check_examples, context_code, short_text
from offload.routing.sandbox import run_command_async, run_python_async
from offload.routing.task import Task
from offload.routing.verdict import Verdict, Verifier
from offload.types import ChatRequest, ChatResponse

__all__ = [
    "CODE_KINDS",
    "check_examples",
    "CommandVerifier",
    "context_code",
    "entry_point_of",
    "ExamplesVerifier",
    "JsonSchemaVerifier",
    "JsonVerifier",
    "NamesExistVerifier",
    "NothingRunnable",
    "PythonParsesVerifier",
    "TestsVerifier",
    "verifiers_for",
]

#: Task kinds whose answer is code to check.
_STUB = re.compile(r"^[ \t]*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_NAMED = re.compile(
    r"\b(?:function|method|def)\s+(?:called\s+|named\s+)?(?:`([A-Za-z_]\w*)(?:\(.*?\))?`|([A-Za-z_]\w*)\s*\()"
)


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
            lines.append(f"at {path}: {short_text(err.message, 200)}")
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
                return Verdict(
                    False, self.name, short_text(data["detail"]), feedback="A test failed: " + data["detail"]
                )
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
            return Verdict(True, self.name, f"`{short_text(self.command, 80)}` exited 0")
        tail = short_text((result.stdout + result.stderr).strip()[-600:], 600)
        detail = f"`{short_text(self.command, 80)}`: {result.describe()}"
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
