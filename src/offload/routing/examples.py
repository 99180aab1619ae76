"""Find the input/output examples a task states, so an answer can be run against them.

Handles doctest ``>>>`` blocks (via :mod:`doctest`), and the forms people actually write in docstrings and
prompts: ``f(x) == y``, ``f(x) -> y``, ``f(x) ➞ y``, ``=>``, ``==>``, ``f(x) = y``, ``f(x) returns y``,
``f(x) should return y``, ``f(x)  # returns y``, "For lst = [...] the output should be y", ``Input: ...`` /
``Output: ...`` blocks, lowercase ``true``/``false``, unquoted string arguments (``is_happy(abc) => False``),
``1 + 2 = 3`` chains (the last value counts) and examples that call the function by a wrong name (mapped to
the entry point when the arity fits). Every call and value is parsed with :mod:`ast` — a scanner finds the
balanced call, the separator and the value; ``ast.literal_eval`` decides what the value is.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import doctest
import io
import keyword
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Example", "Signature", "extract_examples", "find_signature", "parse_literal"]

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


@dataclass(frozen=True)
class Example:
    """One stated example: evaluate ``call`` and compare the value with ``expected``."""

    #: The function the example exercises (the entry point after wrong-name mapping).
    func: str
    #: A Python expression calling it, e.g. ``add(2, 3)`` or ``round(find_zero([1, 2]), 2)``.
    call: str
    #: ``repr`` of the expected value (a Python literal) in ``value`` mode; the raw wanted text in ``repr`` mode.
    expected: str
    #: "value": compare values; "repr": compare ``repr(value)`` (or what was printed) with ``expected``.
    mode: str = "value"
    #: Doctest statements that must run first (``>>> x = 5`` before ``>>> f(x)``).
    setup: tuple[str, ...] = ()
    #: How it was written: "doctest", "==", "->", "for", "input/output", ...
    form: str = ""
    #: 1-based line of the source text where it starts.
    line: int = 0

    def describe(self) -> str:
        """The example as one line, for repair feedback."""
        return f"{self.call} == {self.expected}" if self.mode == "value" else f"{self.call} -> {self.expected}"


@dataclass(frozen=True)
class Signature:
    """Parameter names of a function stub found in the task text."""

    name: str
    params: tuple[str, ...]
    required: int

    def accepts(self, n_args: int) -> bool:
        return self.required <= n_args <= len(self.params)


# -- literals ---------------------------------------------------------------------------------------------


class _LowerNames(ast.NodeTransformer):
    _CONSTS = {"true": True, "false": False, "none": None, "null": None}

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self._CONSTS:
            return ast.copy_location(ast.Constant(self._CONSTS[node.id]), node)
        return node


def _literal(src: str) -> str | None:
    """``repr`` of the literal ``src`` (lowercase true/false/none allowed), or None when it is not one."""
    src = src.strip()
    if not src:
        return None
    try:
        tree = _LowerNames().visit(ast.parse(src, mode="eval"))
        return repr(ast.literal_eval(tree))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None


def _tokens_end(src: str) -> list[int]:
    """Character offsets where a token ends in the first line-ish chunk of ``src`` (best effort)."""
    ends: list[int] = []
    line_starts = [0]
    for line in src.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT):
                continue
            ends.append(line_starts[tok.end[0] - 1] + tok.end[1])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return ends


def parse_literal(text: str) -> str | None:
    """The expected value at the start of ``text``: ``repr`` of the longest literal prefix that stands alone.

    ``"'No' (the name should start ...)"`` gives ``'No'``; ``"24 # sum of 21 + 3"`` gives ``24``; a prefix
    followed by an operator (``1 + 9``) is not taken; ``a + b = 10`` chains give the last value.
    """
    text = re.sub(r"(\"\"\"|''')\s*$", "", text.strip()).strip().strip("`").strip()  # a docstring's end
    chain = re.split(r"(?<![=<>!])=(?!=)", text)
    if len(chain) > 1:
        text = chain[-1].strip()
    if text.startswith('""') and not text.startswith('"""') and text[2:3].isalnum():
        text = text[1:]  # ""word" typo
    bare = text.rstrip(".").rstrip()
    for candidate in (bare, text) if bare and bare != text else (text,):
        value = _literal(candidate)
        if value is not None:
            return value
    for end in sorted(_tokens_end(text), reverse=True):
        head, rest = text[:end], text[end:]
        value = _literal(head)
        if value is None:
            continue
        rest_stripped = rest.lstrip()
        if not rest_stripped or rest_stripped[0] in "#.,;:`" or rest_stripped.startswith("("):
            return value
        if rest[:1].isspace() and rest_stripped[0].isalpha():
            return value
        return None
    return None


# -- scanning helpers --------------------------------------------------------------------------------------


def _balanced_end(text: str, open_pos: int) -> int | None:
    """Index just past the bracket matching ``text[open_pos]`` (string-aware), or None."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    quote = ""
    i = open_pos
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote or (ch == "\n" and quote in "'\""):
                quote = "" if ch == quote else quote
            i += 1
            continue
        if ch in "'\"":
            quote = ch
        elif ch in pairs:
            stack.append(pairs[ch])
        elif ch in ")]}":
            if not stack or stack.pop() != ch:
                return None
            if not stack:
                return i + 1
        elif ch == "\n" and text[i + 1 : i + 2] == "\n":
            return None  # a blank line ends any example
        i += 1
    return None


def _value_text(text: str, start: int) -> str:
    """The rest of the line from ``start``, extended over following lines while brackets are open."""
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    chunk = text[start:end]
    depth = sum(chunk.count(c) for c in "([{") - sum(chunk.count(c) for c in ")]}")
    extra = 0
    while depth > 0 and end < len(text) and extra < 30:
        nxt = text.find("\n", end + 1)
        nxt = len(text) if nxt < 0 else nxt
        line = text[end + 1 : nxt]
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        chunk += "\n" + line
        end, extra = nxt, extra + 1
    return chunk


def _quote_bare_args(call: ast.Call) -> bool:
    """Turn bare-word arguments (``is_happy(abc)``) into strings; False when an argument is not literal."""
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Name) and arg.id not in ("True", "False", "None"):
            call.args[i] = ast.copy_location(ast.Constant(arg.id), arg)
        elif _literal(ast.unparse(arg)) is None:
            return False
    return all(_literal(ast.unparse(kw.value)) is not None for kw in call.keywords)


class _Extractor:
    def __init__(self, text: str, entry_point: str | None, names: Iterable[str]) -> None:
        self.text = text.expandtabs(4)
        self.sigs = _signatures(self.text)
        targets = {n for n in [entry_point, *names] if n}
        self.targets = targets or set(self.sigs)
        self.entry = entry_point or (next(iter(self.targets)) if len(self.targets) == 1 else None)
        self.defined = set(self.sigs) | _assigned_names(self.text)
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
        literal = all(_literal(ast.unparse(a)) is not None for a in [*node.args, *(k.value for k in node.keywords)])
        if not literal and not (quote_bare and _quote_bare_args(node)):
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
        parsed = _doctest_examples(re.sub(r"(\"\"\"|''')", "   ", self.text))
        setup: list[str] = []
        for ex in parsed:
            ex.want = _own_output(ex.want, self.targets)
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
        pos = _line_offset(self.text, ex.lineno)
        want = ex.want.strip()
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.Eq):
            rhs = _literal(ast.unparse(expr.comparators[0]))
            if rhs is not None and want in ("", "True", "true"):
                self.add(func, ast.unparse(expr.left), rhs, "doctest==", pos, setup=tuple(setup))
                return
        if isinstance(expr, ast.Subscript) and re.search(r"\)\s+\[", src) and not want:
            expected = _literal(ast.unparse(expr.slice))  # ">>> f(x) [1, 2]": the output on the same line
            inner = expr.value
            if expected is not None and isinstance(inner, ast.Call):
                expected = repr(list(ast.literal_eval(expected)))
                self.add(func, ast.unparse(inner), expected, "doctest", pos, setup=tuple(setup))
                return
        call = ast.unparse(expr)
        if not want:
            self.add(func, call, "None", "doctest", pos, setup=tuple(setup))
            return
        value = _literal(" ".join(line.strip() for line in want.splitlines()))
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
            if line_no in skip_lines or re.search(r"\bdef\s+$", prefix) or _inside_expression(prefix):
                continue  # a stub, or a call inside a larger expression ("tri(2) + tri(4)")
            end = _balanced_end(text, match.end() - 1)
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
            value_src = _value_text(text, value_start)
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
            pairs = _assignments(self.text[match.end() : should.start()])
            expected = parse_literal(_value_text(self.text, should.end()))
            if pairs and expected is not None:
                self.add_named(pairs, expected, "for", match.start())

    def io_blocks(self) -> None:
        """``Input: ...`` followed by ``Output: ...``."""
        for match in _INPUT.finditer(self.text):
            out = _OUTPUT.search(self.text, match.end(), match.end() + 2000)
            if out is None or _INPUT.search(self.text, match.end(), out.start()):
                continue
            body = self.text[match.end() : out.start()].strip()
            pairs = _assignments(body)
            if not pairs:
                single = parse_literal(body)
                pairs = [(None, single)] if single is not None else []
            value_src = _value_text(self.text, out.end())
            if not value_src.strip():
                nxt = self.text.find("\n", out.end())
                value_src = _value_text(self.text, nxt + 1) if nxt >= 0 else ""
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
                    self.add(self.entry, f"{self.entry}({value})", expected, "return", _line_offset(self.text, i))
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


def _doctest_examples(text: str) -> list[doctest.Example]:
    """``doctest``'s examples; paragraphs it rejects (inconsistent indentation) are retried dedented."""
    parser = doctest.DocTestParser()
    try:
        return parser.get_examples(text)
    except ValueError:
        pass
    found: list[doctest.Example] = []
    line = 0
    for para in re.split(r"(\n[ \t]*\n)", text):
        for attempt in (para, "\n".join(x.strip() for x in para.split("\n"))):
            try:
                examples = parser.get_examples(attempt)
            except ValueError:
                continue
            for ex in examples:
                ex.lineno += line
            found.extend(examples)
            break
        line += para.count("\n")
    return found


def _own_output(want: str, targets: set[str]) -> str:
    """A doctest's output without the lines after it that are examples of their own (no blank line between):
    ``0`` followed by ``f("AEIOU") == 5`` keeps ``0``."""
    lines = want.splitlines(keepends=True)
    for i, line in enumerate(lines[1:], start=1):
        if any(re.match(rf"\s*(?:[*-]\s*)?{re.escape(t)}\(", line) for t in targets):
            return "".join(lines[:i])
    return want


def _inside_expression(prefix: str) -> bool:
    """Whether the text before a call ends in an operator after an operand (``tri(2) + tri(4)``)."""
    prefix = prefix.rstrip()
    return not prefix.endswith(">>>") and re.search(r"[\w)\]}'\"]\s*[-+*/%=<>&|^]+$", prefix) is not None


def _line_offset(text: str, lineno: int) -> int:
    pos = 0
    for _ in range(lineno):
        nxt = text.find("\n", pos)
        if nxt < 0:
            return pos
        pos = nxt + 1
    return pos


def _assignments(body: str) -> list[tuple[str | None, str]]:
    """``a = 1, b = [2, 3]`` or ``a : 1`` lines -> [(name, literal repr)]; [] when it is not that shape."""
    pairs: list[tuple[str | None, str]] = []
    pos = 0
    body = body.strip().rstrip(",")
    while pos < len(body):
        m = re.compile(r"\s*,?\s*([A-Za-z_]\w*)\s*[=:](?!=)\s*").match(body, pos)
        if m is None:
            break
        start = m.end()
        end = start
        while end < len(body) and body[end] not in ",\n":
            if body[end] in "([{":
                close = _balanced_end(body, end)
                if close is None:
                    return []
                end = close
            elif body[end] in "'\"":
                close_q = body.find(body[end], end + 1)
                if close_q < 0:
                    return []
                end = close_q + 1
            else:
                end += 1
        value = parse_literal(body[start:end])
        if value is None:
            break
        pairs.append((m.group(1), value))
        pos = end
    return pairs


def _signatures(text: str) -> dict[str, Signature]:
    sigs: dict[str, Signature] = {}
    for match in re.finditer(r"^[ \t]*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", text, re.MULTILINE):
        end = _balanced_end(text, match.end() - 1)
        if end is None:
            continue
        header = text[match.start() : end].strip()
        try:
            fn = ast.parse(f"{header}:\n    pass").body[0]
        except SyntaxError:
            continue
        assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        params = tuple(a.arg for a in [*fn.args.posonlyargs, *fn.args.args] if a.arg not in ("self", "cls"))
        sigs[fn.name] = Signature(fn.name, params, len(params) - len(fn.args.defaults))
    return sigs


def _assigned_names(text: str) -> set[str]:
    return set(re.findall(r"^[ \t]*(?:class\s+)?([A-Za-z_]\w*)\s*(?:=|\(.*\):)", text, re.MULTILINE))


def find_signature(text: str, name: str) -> Signature | None:
    """The signature of ``def name(...)`` in ``text``, if the text has that stub."""
    return _signatures(text.expandtabs(4)).get(name)


def extract_examples(text: str, entry_point: str | None = None, names: Iterable[str] = ()) -> list[Example]:
    """Examples stated in ``text`` for ``entry_point`` (and ``names``), in document order, deduplicated.

    Without an entry point, the functions with a ``def`` stub in the text are the targets; calls to unknown
    names are mapped to the entry point only when there is exactly one target.
    """
    ex = _Extractor(text, entry_point, names)
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
