"""The scanner behind :func:`offload.routing.examples.extract_examples`: one pass per form an example can be
written in (doctests, ``f(x) <separator> y`` calls, "For x = ... the output should be y", ``Input:`` /
``Output:`` blocks, ``x = ...`` then ``return ...`` prose, and encode/decode round trips).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import doctest
import keyword
import re
from collections.abc import Iterable

from offload.routing.examples_scan import (
    assigned_names,
    assignments,
    balanced_end,
    doctest_examples,
    inside_expression,
    line_offset,
    literal_repr,
    own_output,
    parse_literal,
    quote_bare_args,
    signatures,
    value_text,
)
from offload.routing.examples_types import Example

__all__ = ["ExampleExtractor"]

_BUILTINS = frozenset(dir(builtins)) | frozenset(keyword.kwlist)
_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\(")
_SEPARATORS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"should\s+return\b",
        r"should\s+be\b",
        r"#\s*returns?\b",
        r"#\s*=+>",
        r"#\s*->",
        r"#\s*→",
        r"==>",
        r"=>",
        r"==",
        r"->",
        r"➞",
        r"→",
        r"returns\b",
        r"=(?!=)",
    )
)
_FOR_ASSIGN = re.compile(r"\bFor\s+(?=[A-Za-z_]\w*\s*=[^=])", re.IGNORECASE)
_SHOULD_BE = re.compile(r"(?:output|result|answer)\s+should\s+be\b", re.IGNORECASE)
_INVERSES = (("decode", "encode"), ("decrypt", "encrypt"), ("decompress", "compress"), ("unescape", "escape"))
_ROUND_TRIP_SAMPLES = ("", "a", "abc", "hello", "abcdefghijklmnopqrstuvwxyz", "thequickbrownfoxjumps")
_INPUT = re.compile(r"\bInput\s*:", re.IGNORECASE)
_OUTPUT = re.compile(r"\bOutput\s*:", re.IGNORECASE)


class ExampleExtractor:
    """One task text scanned for examples of its target functions, form by form; they collect in ``found``."""

    def __init__(self, text: str, entry_point: str | None, names: Iterable[str]) -> None:
        self.text = text.expandtabs(4)
        self.sigs = signatures(self.text)
        targets = {n for n in [entry_point, *names] if n}
        self.targets = targets or set(self.sigs)
        self.entry = entry_point or (next(iter(self.targets)) if len(self.targets) == 1 else None)
        self.defined = set(self.sigs) | assigned_names(self.text)
        self.found: list[Example] = []
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", self.text))]

    def target_for(self, name: str, n_args: int) -> str | None:
        if name in self.targets:
            sig = self.sigs.get(name)
            return name if sig is None or sig.accepts(n_args) else None
        if self.entry is None or name in self.defined or name in _BUILTINS or len(name) < 3:
            return None
        sig = self.sigs.get(self.entry)
        return self.entry if sig is not None and sig.accepts(n_args) else None

    def normalise_call(self, src: str, quote_bare: bool) -> tuple[str, str] | None:
        """``(func, call source)`` for a direct call with literal arguments, names mapped; else None."""
        try:
            node = ast.parse(src.strip(), mode="eval").body
        except SyntaxError:
            return None
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            return None
        func = self.target_for(node.func.id, len(node.args) + len(node.keywords))
        if func is None:
            return None
        literal = all(literal_repr(ast.unparse(a)) is not None for a in [*node.args, *(k.value for k in node.keywords)])
        if not literal and not (quote_bare and quote_bare_args(node)):
            return None
        node.func.id = func
        return func, ast.unparse(node)

    def line_of(self, pos: int) -> int:
        """1-based line number of offset ``pos``."""
        return bisect.bisect_right(self.line_starts, pos)

    def add(self, func: str, call: str, expected: str, form: str, pos: int, **kw: object) -> None:
        line = self.line_of(pos)
        self.found.append(Example(func=func, call=call, expected=expected, form=form, line=line, **kw))  # type: ignore[arg-type]

    # -- forms --------------------------------------------------------------------------------------------
    def doctests(self) -> set[int]:
        """``>>>`` examples; returns the lines they cover so the scanner skips them."""
        covered: set[int] = set()
        parsed = doctest_examples(re.sub(r"(\"\"\"|''')", "   ", self.text))
        setup: list[str] = []
        for ex in parsed:
            ex.want = own_output(ex.want, self.targets)
            n_lines = 1 + ex.source.rstrip("\n").count("\n") + len(ex.want.splitlines())
            covered.update(range(ex.lineno + 1, ex.lineno + 1 + n_lines))
            self.doctest_one(ex, setup)
        return covered

    def doctest_one(self, ex: doctest.Example, setup: list[str]) -> None:
        src = ex.source.strip()
        try:
            tree = ast.parse(src)
        except SyntaxError:
            return
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
            if ex.want.strip() == "":
                setup.append(src)
            return
        expr = tree.body[0].value
        calls = [n for n in ast.walk(expr) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        func = None
        for node in calls:
            assert isinstance(node.func, ast.Name)
            mapped = self.target_for(node.func.id, len(node.args) + len(node.keywords))
            if mapped:
                node.func.id, func = mapped, mapped
        if func is None:
            return
        pos = line_offset(self.text, ex.lineno)
        want = ex.want.strip()
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.Eq):
            rhs = literal_repr(ast.unparse(expr.comparators[0]))
            if rhs is not None and want in ("", "True", "true"):
                self.add(func, ast.unparse(expr.left), rhs, "doctest==", pos, setup=tuple(setup))
                return
        if isinstance(expr, ast.Subscript) and re.search(r"\)\s+\[", src) and not want:
            expected = literal_repr(ast.unparse(expr.slice))  # ">>> f(x) [1, 2]": the output on the same line
            inner = expr.value
            if expected is not None and isinstance(inner, ast.Call):
                expected = repr(list(ast.literal_eval(expected)))
                self.add(func, ast.unparse(inner), expected, "doctest", pos, setup=tuple(setup))
                return
        call = ast.unparse(expr)
        if not want:
            self.add(func, call, "None", "doctest", pos, setup=tuple(setup))
            return
        value = literal_repr(" ".join(line.strip() for line in want.splitlines()))
        if value is not None:
            self.add(func, call, value, "doctest", pos, setup=tuple(setup))
        else:
            self.add(func, call, want, "doctest", pos, mode="repr", setup=tuple(setup))

    def inline_calls(self, skip_lines: set[int]) -> None:
        text = self.text
        for match in _CALL.finditer(text):
            name = match.group(1)
            if name not in self.targets and (self.entry is None or name in self.defined or name in _BUILTINS):
                continue
            line_no = self.line_of(match.start())
            line_start = text.rfind("\n", 0, match.start()) + 1
            prefix = text[line_start : match.start()]
            if line_no in skip_lines or re.search(r"\bdef\s+$", prefix) or inside_expression(prefix):
                continue  # a stub, or a call inside a larger expression ("tri(2) + tri(4)")
            end = balanced_end(text, match.end() - 1)
            if end is None:
                continue
            normal = self.normalise_call(text[match.start() : end], quote_bare=True)
            if normal is None:
                continue
            after = text[end:]
            gap = re.match(r"[ \t]*", after)
            rest = after[gap.end() if gap else 0 :]
            sep = next((m for m in (p.match(rest) for p in _SEPARATORS) if m), None)
            form = re.sub(r"\s+", " ", sep.group(0).strip("# ")) if sep else "doctest"
            if sep is None and not prefix.rstrip().endswith(">>>"):
                continue  # (">>> f(1) True >>> f(2) False" written on one line has no separator)
            value_start = end + (gap.end() if gap else 0) + (sep.end() if sep else 0)
            value_src = value_text(text, value_start)
            value_src = value_src.split(">>>")[0]
            value_src = re.sub(r"^[ \t]*\n", "", value_src)
            expected = parse_literal(value_src)
            if expected is not None:
                self.add(normal[0], normal[1], expected, form, match.start())

    def for_forms(self) -> None:
        """ "For lst = [1, 2] the output should be 3" (several ``name = value`` pairs allowed)."""
        for match in _FOR_ASSIGN.finditer(self.text):
            should = _SHOULD_BE.search(self.text, match.end(), match.end() + 300)
            if should is None:
                continue
            pairs = assignments(self.text[match.end() : should.start()])
            expected = parse_literal(value_text(self.text, should.end()))
            if pairs and expected is not None:
                self.add_named(pairs, expected, "for", match.start())

    def io_blocks(self) -> None:
        """``Input: ...`` followed by ``Output: ...``."""
        for match in _INPUT.finditer(self.text):
            out = _OUTPUT.search(self.text, match.end(), match.end() + 2000)
            if out is None or _INPUT.search(self.text, match.end(), out.start()):
                continue
            body = self.text[match.end() : out.start()].strip()
            pairs = assignments(body)
            if not pairs:
                single = parse_literal(body)
                pairs = [(None, single)] if single is not None else []
            value_src = value_text(self.text, out.end())
            if not value_src.strip():
                nxt = self.text.find("\n", out.end())
                value_src = value_text(self.text, nxt + 1) if nxt >= 0 else ""
            expected = parse_literal(value_src)
            if pairs and expected is not None:
                self.add_named(pairs, expected, "input/output", match.start())

    def assign_return(self) -> None:
        """``arr = [2, 1]`` then, within a few lines, ``return [1, 2]`` (a worked example in prose)."""
        if self.entry is None or self.entry not in self.sigs:
            return
        params = self.sigs[self.entry].params
        lines = self.text.splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"\s*([A-Za-z_]\w*)\s*=\s*(.+)$", line)
            if m is None or m.group(1) not in params or len(params) != 1:
                continue
            value = parse_literal(m.group(2))
            for j in range(i + 1, min(i + 5, len(lines))):
                r = re.match(r"\s*return\s*=?\s*(.+)$", lines[j])
                if r is None:
                    continue
                expected = parse_literal(r.group(1))
                if value is not None and expected is not None:
                    self.add(self.entry, f"{self.entry}({value})", expected, "return", line_offset(self.text, i))
                break

    def round_trips(self) -> None:
        """``decode_x`` next to a given ``encode_x`` (or the reverse): ``decode_x(encode_x(s)) == s``."""
        if self.entry is None or self.entry not in self.sigs or len(self.sigs[self.entry].params) != 1:
            return
        for a, b in _INVERSES:
            for mine, theirs in ((a, b), (b, a)):
                if self.entry.startswith(mine):
                    other = theirs + self.entry[len(mine) :]
                    if other in self.sigs and re.search(
                        rf"\b{re.escape(other)}\b", self.text.split("def " + self.entry)[-1]
                    ):
                        inner, outer = (other, self.entry) if mine == a else (self.entry, other)
                        pos = self.text.find("def " + self.entry)
                        for sample in _ROUND_TRIP_SAMPLES:
                            self.add(self.entry, f"{outer}({inner}({sample!r}))", repr(sample), "round trip", pos)
                        return

    def add_named(self, pairs: list[tuple[str | None, str]], expected: str, form: str, pos: int) -> None:
        if self.entry is None:
            return
        sig = self.sigs.get(self.entry)
        if sig is None or len(pairs) != len(sig.params):
            return
        names = [n for n, _ in pairs]
        # by name when the names are the stub's; else by position (e.g. "bucket_capacity" for "capacity")
        by_name = all(n in sig.params for n in names)
        ordered = sorted(pairs, key=lambda p: sig.params.index(p[0])) if by_name else pairs  # type: ignore[arg-type]
        call = f"{self.entry}({', '.join(v for _, v in ordered)})"
        self.add(self.entry, call, expected, form, pos)
