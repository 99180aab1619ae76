"""Reading task text for example extraction: Python literals (lowercase ``true``/``false``/``none`` allowed),
balanced calls and brackets, the value after a separator, ``name = value`` lists, doctest blocks and ``def``
stubs. Everything is parsed with :mod:`ast`, :mod:`tokenize` and :mod:`doctest`; nothing is evaluated beyond
``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import doctest
import io
import re
import tokenize

from offload.routing.examples_types import Signature

__all__ = [
    "assigned_names", "assignments", "balanced_end", "doctest_examples", "inside_expression", "line_offset",
    "literal_repr", "own_output", "parse_literal", "quote_bare_args", "signatures", "value_text",
]  # fmt: skip


# -- literals ---------------------------------------------------------------------------------------------


class _LowerNames(ast.NodeTransformer):
    _CONSTS = {"true": True, "false": False, "none": None, "null": None}

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self._CONSTS:
            return ast.copy_location(ast.Constant(self._CONSTS[node.id]), node)
        return node


def literal_repr(src: str) -> str | None:
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
        value = literal_repr(candidate)
        if value is not None:
            return value
    for end in sorted(_tokens_end(text), reverse=True):
        head, rest = text[:end], text[end:]
        value = literal_repr(head)
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


def balanced_end(text: str, open_pos: int) -> int | None:
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


def value_text(text: str, start: int) -> str:
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


def quote_bare_args(call: ast.Call) -> bool:
    """Turn bare-word arguments (``is_happy(abc)``) into strings; False when an argument is not literal."""
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Name) and arg.id not in ("True", "False", "None"):
            call.args[i] = ast.copy_location(ast.Constant(arg.id), arg)
        elif literal_repr(ast.unparse(arg)) is None:
            return False
    return all(literal_repr(ast.unparse(kw.value)) is not None for kw in call.keywords)


def doctest_examples(text: str) -> list[doctest.Example]:
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


def own_output(want: str, targets: set[str]) -> str:
    """A doctest's output without the lines after it that are examples of their own (no blank line between):
    ``0`` followed by ``f("AEIOU") == 5`` keeps ``0``."""
    lines = want.splitlines(keepends=True)
    for i, line in enumerate(lines[1:], start=1):
        if any(re.match(rf"\s*(?:[*-]\s*)?{re.escape(t)}\(", line) for t in targets):
            return "".join(lines[:i])
    return want


def inside_expression(prefix: str) -> bool:
    """Whether the text before a call ends in an operator after an operand (``tri(2) + tri(4)``)."""
    prefix = prefix.rstrip()
    return not prefix.endswith(">>>") and re.search(r"[\w)\]}'\"]\s*[-+*/%=<>&|^]+$", prefix) is not None


def line_offset(text: str, lineno: int) -> int:
    """Offset where 0-based line ``lineno`` starts (the last line's start when the text is shorter)."""
    pos = 0
    for _ in range(lineno):
        nxt = text.find("\n", pos)
        if nxt < 0:
            return pos
        pos = nxt + 1
    return pos


def assignments(body: str) -> list[tuple[str | None, str]]:
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
                close = balanced_end(body, end)
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


def signatures(text: str) -> dict[str, Signature]:
    """The ``def`` stubs in ``text``, by function name."""
    sigs: dict[str, Signature] = {}
    for match in re.finditer(r"^[ \t]*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", text, re.MULTILINE):
        end = balanced_end(text, match.end() - 1)
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


def assigned_names(text: str) -> set[str]:
    """Names bound at the start of a line (``name = ...``, ``class Name(...):``); calls to them are not examples."""
    return set(re.findall(r"^[ \t]*(?:class\s+)?([A-Za-z_]\w*)\s*(?:=|\(.*\):)", text, re.MULTILINE))
