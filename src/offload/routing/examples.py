"""Find the input/output examples a task states, so an answer can be run against them.

Handles doctest ``>>>`` blocks (via :mod:`doctest`), and the forms people actually write in docstrings and
prompts: ``f(x) == y``, ``f(x) -> y``, ``f(x) ➞ y``, ``=>``, ``==>``, ``f(x) = y``, ``f(x) returns y``,
``f(x) should return y``, ``f(x)  # returns y``, "For lst = [...] the output should be y", ``Input: ...`` /
``Output: ...`` blocks, lowercase ``true``/``false``, unquoted string arguments (``is_happy(abc) => False``),
``1 + 2 = 3`` chains (the last value counts) and examples that call the function by a wrong name (mapped to
the entry point when the arity fits). Every call and value is parsed with :mod:`ast` — a scanner finds the
balanced call, the separator and the value; ``ast.literal_eval`` decides what the value is.

The found types live in :mod:`offload.routing.examples_types`, the text and literal scanning in
:mod:`offload.routing.examples_scan`, the per-form scanner in :mod:`offload.routing.examples_extract`;
the public names are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from offload.routing.examples_extract import ExampleExtractor
from offload.routing.examples_scan import parse_literal, signatures
from offload.routing.examples_types import Example, Signature

__all__ = ["Example", "Signature", "extract_examples", "find_signature", "parse_literal"]


def find_signature(text: str, name: str) -> Signature | None:
    """The signature of ``def name(...)`` in ``text``, if the text has that stub."""
    return signatures(text.expandtabs(4)).get(name)


def extract_examples(text: str, entry_point: str | None = None, names: Iterable[str] = ()) -> list[Example]:
    """Examples stated in ``text`` for ``entry_point`` (and ``names``), in document order, deduplicated.

    Without an entry point, the functions with a ``def`` stub in the text are the targets; calls to unknown
    names are mapped to the entry point only when there is exactly one target.
    """
    ex = ExampleExtractor(text, entry_point, names)
    covered = ex.doctests()
    ex.inline_calls(covered)
    ex.for_forms()
    ex.io_blocks()
    ex.assign_return()
    ex.round_trips()
    seen: dict[tuple[str, str], Example] = {}
    for item in sorted(ex.found, key=lambda e: e.line):
        seen.setdefault((item.call, item.expected), item)
    return _resolve_conflicts(list(seen.values()), ex.text)


def _kind(expected: str) -> str:
    return "container" if expected[:1] in "[({" else "none" if expected == "None" else "scalar"


def _resolve_conflicts(examples: list[Example], text: str) -> list[Example]:
    """When a function's examples mix containers and scalars (e.g. a sequence defined as ``tri(1) = 3`` next
    to ``tri(3) = [1, 3, 2, 8]`` for the function returning the list), keep the kind stated under the last
    "Example(s):" header and drop the examples before it that contradict it."""
    headers = [m.start() for m in re.finditer(r"^\s*(?:for\s+)?examples?\s*:?\s*$", text, re.I | re.M)]
    if not headers:
        return examples
    last_line = text.count("\n", 0, headers[-1]) + 1
    out = list(examples)
    for func in {e.func for e in examples}:
        mine = [e for e in examples if e.func == func and e.mode == "value"]
        kinds = {_kind(e.expected) for e in mine} - {"none"}
        if len(kinds) < 2:
            continue
        late = {_kind(e.expected) for e in mine if e.line > last_line} - {"none"}
        if len(late) == 1:
            out = [e for e in out if e.func != func or e.line > last_line or _kind(e.expected) in late | {"none"}]
    return out
