"""The builder's verifiers: the suggestion is real, small enough, and its tests pass against its code.

Checked on every answer (each failure is fed back to the model for repair, then escalated):

- ``file_path`` is one of the task's files (or a new file inside the project when the task names none);
- ``suggested_code`` parses, and is not a placeholder (``TODO``/``FIXME``, "your code here", functions whose
  body is only ``pass`` / ``...`` / ``raise NotImplementedError``);
- the change stays within ``loc_max`` (lines of code added or removed, blank lines and comments not counted);
- ``tests`` assert something, and they — plus acceptance criteria written as asserts, and examples stated in
  the objective — pass against ``suggested_code`` in the sandbox.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from offload.routing.codeblocks import defined_names
from offload.routing.examples import extract_examples
from offload.routing.probes import check_examples
from offload.routing.sandbox import run_python_async
from offload.routing.verdict import Verdict

if TYPE_CHECKING:
    from offload.workers.builder import LoadedTask

__all__ = ["changed_loc", "check_suggestion", "placeholder_problem", "run_tests"]

_PLACEHOLDER = re.compile(
    r"\b(?:TODO|FIXME|XXX)\b|your (?:code|implementation) here|implement (?:this|me)\b|\bplaceholder\b", re.I
)
_ALLOWED_STUB_DECORATORS = {"abstractmethod", "overload", "abstractproperty"}


def _stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    names = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in fn.decorator_list}
    if names & _ALLOWED_STUB_DECORATORS:
        return False
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # docstring
    if not body:
        return True
    for node in body:
        if isinstance(node, ast.Pass):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node.value.value is Ellipsis:
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def placeholder_problem(code: str) -> str | None:
    """Why ``code`` is a placeholder rather than an implementation, or None."""
    m = _PLACEHOLDER.search(code)
    if m:
        line = code.count("\n", 0, m.start()) + 1
        return f"line {line} holds a placeholder ({m.group(0)!r})"
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None  # reported by the parse check
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _stub(node):
            return f"function {node.name}() has no implementation (only pass / ... / NotImplementedError)"
    return None


def _code_lines(lines: list[str]) -> int:
    return sum(1 for ln in lines if ln.strip() and not ln.strip().startswith("#"))


def changed_loc(old: str, new: str) -> int:
    """Lines of code a change adds or removes (the larger of the two; blanks and comments not counted)."""
    added: list[str] = []
    removed: list[str] = []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("+ "):
            added.append(line[2:])
        elif line.startswith("- "):
            removed.append(line[2:])
    return max(_code_lines(added), _code_lines(removed))


_RUNNER = """
import json, sys, traceback
sys.path.insert(0, ".")
TOKEN = {token!r}
def report(ok, detail, n=0):
    sys.__stdout__.write(TOKEN + json.dumps({{"ok": ok, "detail": detail, "n": n}}) + "\\n")
    sys.__stdout__.flush()
def failure(where, exc):
    tb = traceback.extract_tb(exc.__traceback__)
    line = next((f"line {{f.lineno}}: {{f.line}}" for f in reversed(tb) if f.filename == "offload_tests.py"), "")
    return f"{{where}}: {{type(exc).__name__}}: {{exc}}" + (f" ({{line}})" if line else "")
ns = {{"__name__": "offload_tests"}}
try:
    exec(compile(open("solution.py").read(), {path!r}, "exec"), ns)
except BaseException as exc:
    report(False, failure("loading the suggested code", exc)); sys.exit(0)
try:
    exec(compile(open("offload_tests.py").read(), "offload_tests.py", "exec"), ns)
except BaseException as exc:
    report(False, failure("the tests' top level", exc)); sys.exit(0)
tests = [(n, f) for n, f in list(ns.items()) if n.startswith("test") and callable(f) and not isinstance(f, type)]
for name, func in tests:
    if getattr(func, "__code__", None) is not None and func.__code__.co_argcount:
        report(False, f"{{name}} takes arguments: pytest fixtures are not available, write plain test functions")
        sys.exit(0)
    try:
        func()
    except BaseException as exc:
        report(False, failure(name, exc)); sys.exit(0)
report(True, f"{{len(tests)}} test function(s) passed" if tests else "the test code ran without errors", len(tests))
"""


def _asserts(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("raises", "assertEqual", "assertTrue", "fail"):
            return True
    return False


async def run_tests(code: str, tests: str, *, file_path: str, files: dict[str, str], timeout_s: float) -> Verdict:
    """Run ``tests`` against ``code`` in the sandbox; the code is importable as its module and as ``solution``."""
    token = "@@offload-" + secrets.token_hex(8) + "@@"
    stem = file_path.rsplit("/", 1)[-1].removesuffix(".py")
    sandbox = {k: v for k, v in files.items() if not k.startswith(("/", ".."))}
    sandbox.update({file_path: code, f"{stem}.py": code, "solution.py": code, "offload_tests.py": tests})
    result = await run_python_async(_RUNNER.format(token=token, path=file_path), timeout_s=timeout_s, files=sandbox)
    for line in result.stdout.splitlines():
        if line.startswith(token):
            data = json.loads(line[len(token) :])
            if data["ok"]:
                return Verdict(True, "tests", data["detail"])
            return Verdict(False, "tests", data["detail"][:300], feedback="A test failed: " + data["detail"])
    detail = f"the tests did not finish: {result.describe()}"
    return Verdict(False, "tests", detail, feedback=detail)


def _acceptance_tests(acceptance: list[str]) -> str:
    """Acceptance criteria written as Python (``assert ...`` or a comparison such as ``f(3) == 6``) as tests."""
    out = []
    for i, item in enumerate(acceptance):
        text = item.strip()
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Compare):
            text = f"assert {text}"
        elif not any(isinstance(n, ast.Assert) for n in tree.body):
            continue
        body = "\n".join("    " + ln for ln in text.splitlines())
        out.append(f"\n\ndef test_acceptance_{i + 1}():\n{body}\n")
    return "".join(out)


def _fail(detail: str, feedback: str | None = None) -> Verdict:
    return Verdict(False, "builder", detail, feedback=feedback or detail)


async def check_suggestion(task: LoadedTask, value: Any) -> Verdict:
    """Every builder check on one parsed suggestion (first failure wins: it is what the model must fix)."""
    path = task.normalise_target(str(value["file_path"]))
    if isinstance(path, Verdict):
        return path
    code, tests = str(value["suggested_code"]), str(value["tests"])
    if not code.strip():
        return _fail("suggested_code is empty", "suggested_code must be the complete new content of the file.")
    try:
        compile(code, path, "exec")
    except (SyntaxError, ValueError) as exc:
        where = f"line {getattr(exc, 'lineno', '?')}: {getattr(exc, 'msg', exc)}"
        return _fail(f"suggested_code does not parse ({where})", f"The code does not parse ({where}). Fix it.")
    problem = placeholder_problem(code)
    if problem:
        return _fail(f"suggested_code is not a full implementation: {problem}",
                     f"Write the complete implementation: {problem}.")  # fmt: skip
    old = task.current.get(path, "")
    loc = changed_loc(old, code)
    limit = task.spec.constraints.loc_max
    if limit is not None and loc > limit:
        return _fail(f"the change touches {loc} lines of code, more than loc_max = {limit}",
                     f"Keep the change within {limit} lines of code (it has {loc}); change only what the task needs.")  # fmt: skip
    all_tests = tests + _acceptance_tests(task.spec.acceptance)
    if not _asserts(tests):  # the suggested tests are part of the answer: a placeholder there fails it too
        return _fail(
            "the tests assert nothing", "Write tests with assert statements that check the acceptance criteria."
        )
    context = {p: t for p, t in task.current.items() if p != path}
    verdict = await run_tests(code, all_tests, file_path=path, files=context, timeout_s=task.timeout_s)
    if not verdict.ok:
        return Verdict(False, "builder", verdict.detail, feedback=verdict.feedback)
    examples = extract_examples(task.example_text, None, sorted(defined_names(code)))
    if examples:
        ex = await check_examples(code, examples, source=task.example_text, timeout_s=task.timeout_s,
                                  extra_checks=False, verifier="builder")  # fmt: skip
        if not ex.ok:
            return ex
    detail = f"{path}: parses, {loc} changed line(s) of code, {verdict.detail}"
    return Verdict(True, "builder", detail + (f", {len(examples)} stated example(s) hold" if examples else ""))
