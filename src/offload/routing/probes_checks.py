"""Checks next to the stated examples: extra inputs near them, result properties the task states (sorted,
unique, subset, same length), answers that return an example's result as a constant, and the verdict on a
:class:`~offload.routing.probes_types.ProbeRun` of the examples and the extra inputs.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from offload.routing.examples_types import Example
from offload.routing.probes_types import Probe, ProbeResult, ProbeRun
from offload.routing.verdict import Verdict

__all__ = ["example_probes", "examples_verdict", "extra_probes", "short_text", "stated_properties"]


def short_text(text: str, limit: int = 300) -> str:
    """``text``, cut to ``limit`` characters (ending in ``...``) when longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
