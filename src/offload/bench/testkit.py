"""The built-in runner for hidden tests. It runs *inside the sandbox* as ``main.py`` (standard library only).

It imports every ``_hidden_tests/**/test_*.py`` file and runs its ``test_*`` functions (and the ``test_*``
methods of ``Test*`` classes), printing one line per test, a short traceback with the failing frame's local
variables for each failure, a summary, and a machine-readable last line::

    @@offload-bench {"passed": 3, "failed": 1, "errors": 0}

Tests are written as for pytest; the runner provides a small ``pytest`` stand-in with ``raises``,
``approx``, ``fail``, ``skip``, ``mark.parametrize``, ``mark.skip``, ``fixture`` (module-level fixtures, also
as generators), and the ``tmp_path`` and ``monkeypatch`` fixtures. Anything beyond that needs the task's
``test_command`` (see docs/bench.md). The exit code is 0 only when at least one test ran and none failed.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HIDDEN_DIR = "_hidden_tests"
RESULT_MARK = "@@offload-bench "
_MAX_TRACE_LINES = 40


class Skipped(Exception):
    """Raised by ``pytest.skip``."""


class _Raises:
    def __init__(self, expected: type[BaseException] | tuple[type[BaseException], ...], match: str | None) -> None:
        self.expected = expected
        self.match = match
        self.value: BaseException | None = None

    def __enter__(self) -> _Raises:
        return self

    def __exit__(self, etype: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if etype is None:
            raise AssertionError(f"DID NOT RAISE {self.expected!r}")
        if not issubclass(etype, self.expected):
            return False
        if self.match is not None:
            import re

            if not re.search(self.match, str(exc)):
                raise AssertionError(f"exception message {str(exc)!r} does not match {self.match!r}")
        self.value = exc
        return True


class _Approx:
    def __init__(self, expected: Any, rel: float | None, abs_: float | None) -> None:
        self.expected, self.rel, self.abs = expected, 1e-6 if rel is None else rel, 1e-12 if abs_ is None else abs_

    def _close(self, a: Any, b: Any) -> bool:
        if isinstance(b, list | tuple):
            return isinstance(a, list | tuple) and len(a) == len(b) and all(map(self._close, a, b))
        if isinstance(b, dict):
            return isinstance(a, dict) and a.keys() == b.keys() and all(self._close(a[k], b[k]) for k in b)
        try:
            return math.isclose(a, b, rel_tol=self.rel, abs_tol=self.abs)
        except TypeError:
            return bool(a == b)

    def __eq__(self, other: object) -> bool:
        return self._close(other, self.expected)

    def __repr__(self) -> str:
        return f"approx({self.expected!r})"


class MonkeyPatch:
    """The ``monkeypatch`` fixture: ``setattr``, ``delattr``, ``setitem``, ``setenv``, ``delenv``, undone after."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def setattr(self, target: Any, name: str, value: Any) -> None:
        old = getattr(target, name)
        self._undo.append(lambda: setattr(target, name, old))
        setattr(target, name, value)

    def delattr(self, target: Any, name: str) -> None:
        old = getattr(target, name)
        self._undo.append(lambda: setattr(target, name, old))
        delattr(target, name)

    def setitem(self, mapping: Any, key: Any, value: Any) -> None:
        missing = key not in mapping
        old = mapping.get(key)
        self._undo.append(lambda: mapping.pop(key, None) if missing else mapping.__setitem__(key, old))
        mapping[key] = value

    def setenv(self, name: str, value: str) -> None:
        self.setitem(os.environ, name, str(value))

    def delenv(self, name: str, raising: bool = True) -> None:
        if name not in os.environ:
            if raising:
                raise KeyError(name)
            return
        old = os.environ[name]
        self._undo.append(lambda: os.environ.__setitem__(name, old))
        del os.environ[name]

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


def _parametrize(names: str | list[str] | tuple[str, ...], values: list[Any]) -> Callable[[Any], Any]:
    argnames = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)

    def mark(fn: Any) -> Any:
        rows = [v if len(argnames) > 1 else (v,) for v in values]
        fn._bench_params = [dict(zip(argnames, row, strict=True)) for row in rows]
        return fn

    return mark


def _skip_mark(reason: str = "") -> Callable[[Any], Any]:
    def mark(fn: Any) -> Any:
        fn._bench_skip = reason or "skipped"
        return fn

    return mark


def _fixture(fn: Any = None, **_: Any) -> Any:
    def mark(f: Any) -> Any:
        f._bench_fixture = True
        return f

    return mark(fn) if callable(fn) else mark


def _fail(msg: str = "") -> None:
    raise AssertionError(msg or "failed")


def _skip(msg: str = "") -> None:
    raise Skipped(msg)


def pytest_shim() -> types.ModuleType:
    """A module standing in for ``pytest`` with the subset this runner supports."""
    mod = types.ModuleType("pytest")
    mark = types.SimpleNamespace(parametrize=_parametrize, skip=_skip_mark)
    mod.__dict__.update(
        raises=lambda exc, match=None: _Raises(exc, match),
        approx=lambda expected, rel=None, abs=None: _Approx(expected, rel, abs),
        mark=mark,
        fixture=_fixture,
        fail=_fail,
        skip=_skip,
    )
    return mod


def _cases(module: types.ModuleType) -> Iterator[tuple[str, Callable[..., Any], dict[str, Any]]]:
    for name, obj in list(vars(module).items()):
        if name.startswith("test") and inspect.isfunction(obj) and obj.__module__ == module.__name__:
            yield from _expand(name, obj)
        elif name.startswith("Test") and inspect.isclass(obj) and obj.__module__ == module.__name__:
            for mname, meth in vars(obj).items():
                if mname.startswith("test") and inspect.isfunction(meth):
                    yield from _expand(f"{name}::{mname}", _bound(obj, mname))


def _bound(cls: type, name: str) -> Callable[..., Any]:
    def call(**kwargs: Any) -> Any:
        inst = cls()
        if hasattr(inst, "setup_method"):
            inst.setup_method(None)
        try:
            return getattr(inst, name)(**kwargs)
        finally:
            if hasattr(inst, "teardown_method"):
                inst.teardown_method(None)

    raw = vars(cls)[name]
    call.__signature__ = inspect.signature(raw).replace(parameters=list(inspect.signature(raw).parameters.values())[1:])  # type: ignore[attr-defined]
    for attr in ("_bench_params", "_bench_skip"):
        if hasattr(raw, attr):
            setattr(call, attr, getattr(raw, attr))
    return call


def _expand(name: str, fn: Callable[..., Any]) -> Iterator[tuple[str, Callable[..., Any], dict[str, Any]]]:
    params = getattr(fn, "_bench_params", None)
    if not params:
        yield name, fn, {}
        return
    for i, kw in enumerate(params):
        yield f"{name}[{i}]", fn, kw


def _closer(gen: Iterator[Any]) -> Callable[[], None]:
    def close() -> None:
        next(gen, None)

    return close


def _call(fn: Callable[..., Any], given: dict[str, Any], module: types.ModuleType, root: Path) -> None:
    cleanups: list[Callable[[], None]] = []
    kwargs = dict(given)
    try:
        for pname in inspect.signature(fn).parameters:
            if pname in kwargs:
                continue
            if pname == "tmp_path":
                kwargs[pname] = Path(tempfile.mkdtemp(prefix="tmp_path-", dir=root))
            elif pname == "monkeypatch":
                mp = MonkeyPatch()
                cleanups.append(mp.undo)
                kwargs[pname] = mp
            elif getattr(getattr(module, pname, None), "_bench_fixture", False):
                value = getattr(module, pname)()
                if inspect.isgenerator(value):
                    gen = value
                    value = next(gen)
                    cleanups.append(_closer(gen))
                kwargs[pname] = value
            else:
                raise RuntimeError(
                    f"fixture {pname!r} is not supported by the built-in runner; set test_command in task.toml"
                )
        fn(**kwargs)
    finally:
        for undo in reversed(cleanups):
            undo()


def _short(value: Any) -> str:
    text = repr(value)
    return text[:300] + "..." if len(text) > 300 else text


def _explain_assert(tb: types.TracebackType) -> list[str]:
    """For a failed ``assert a == b``: the values of both sides (re-evaluated in the failing frame)."""
    import ast
    import linecache

    frame, line = tb.tb_frame, tb.tb_lineno
    source = "".join(linecache.getlines(frame.f_code.co_filename))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assert) and node.lineno <= line <= (node.end_lineno or node.lineno)):
            continue
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
            return []
        out = []
        for label, expr in (("left", test.left), ("right", test.comparators[0])):
            if isinstance(expr, ast.Constant):
                continue
            try:
                value = eval(compile(ast.Expression(expr), "<assert>", "eval"), frame.f_globals, frame.f_locals)
            except Exception as err:
                out.append(f"    {label}: {ast.unparse(expr)[:200]} raised {type(err).__name__}: {err}")
                continue
            out.append(f"    {label}: {ast.unparse(expr)[:200]} = {_short(value)}")
        return out
    return []


def _describe(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    lines = "".join(traceback.format_exception(type(exc), exc, tb)).splitlines()
    if len(lines) > _MAX_TRACE_LINES:
        lines = lines[:5] + ["    ..."] + lines[-(_MAX_TRACE_LINES - 6) :]
    last = tb
    while last is not None and last.tb_next is not None:
        last = last.tb_next
    if isinstance(exc, AssertionError) and last is not None:
        lines.extend(_explain_assert(last))
        local = {k: v for k, v in last.tb_frame.f_locals.items() if not k.startswith("__")}
        for key, value in list(local.items())[:12]:
            lines.append(f"    {key} = {_short(value)}")
    return "\n".join("    " + line for line in lines)


def run(root: Path) -> dict[str, int]:
    """Run every hidden test under ``root``; print the report; return the counts."""
    sys.modules["pytest"] = pytest_shim()
    hidden = root / HIDDEN_DIR
    sys.path.append(str(hidden))
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    started = time.monotonic()
    for i, path in enumerate(sorted(hidden.rglob("test_*.py"))):
        rel = path.relative_to(hidden).as_posix()
        try:
            spec = importlib.util.spec_from_file_location(f"_bench_hidden_{i}_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        except BaseException as exc:
            counts["errors"] += 1
            print(f"ERROR  {rel} (while importing)\n{_describe(exc)}", flush=True)
            continue
        for name, fn, given in _cases(module):
            if getattr(fn, "_bench_skip", None):
                counts["skipped"] += 1
                continue
            try:
                _call(fn, given, module, root)
            except Skipped:
                counts["skipped"] += 1
            except BaseException as exc:
                counts["failed"] += 1
                print(f"FAILED {rel}::{name}\n{_describe(exc)}", flush=True)
            else:
                counts["passed"] += 1
                print(f"PASSED {rel}::{name}", flush=True)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "passed")
    print(f"== {summary} in {time.monotonic() - started:.2f}s ==")
    print(RESULT_MARK + json.dumps(counts), flush=True)
    return counts


def main() -> int:
    root = Path(os.getcwd())
    if str(root) not in sys.path:  # run as a command with -I: make the repository importable
        sys.path.insert(0, str(root))
    counts = run(root)
    ok = counts["passed"] > 0 and not counts["failed"] and not counts["errors"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.stdout.flush()
    code = main()
    sys.stdout.flush()
    os._exit(code)
