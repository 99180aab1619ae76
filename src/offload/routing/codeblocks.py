"""Find the code (or the JSON) inside a model's answer.

Models wrap code in Markdown fences with or without a language tag, forget to close the last fence when they
hit the token limit, write several blocks (solution, then usage), or answer with bare code followed by prose.
:func:`extract_python` returns the block that defines the names the task asks for; :func:`extract_json`
parses JSON out of an answer with fences, prose around it, trailing commas, comments or Python literals.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["CodeBlock", "code_blocks", "defined_names", "extract_json", "extract_python"]

_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*$", re.MULTILINE)
_LANG_ALIASES = {"py": "python", "python3": "python", "py3": "python", "python2": "python", "jsonc": "json"}
_CODE_START = re.compile(r"^(?:def |async def |class |import |from \S+ import |@\w)")


@dataclass(frozen=True)
class CodeBlock:
    """One block of code found in an answer."""

    code: str
    #: Normalised language tag ("python", "json", ...) or None when the fence had none (or there was no fence).
    language: str | None
    fenced: bool
    #: Offset of the block's first character in the answer.
    start: int


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block in ``text``; an unclosed last fence runs to the end of the text."""
    blocks: list[CodeBlock] = []
    pos = 0
    while True:
        opening = _FENCE.search(text, pos)
        if opening is None:
            break
        fence = opening.group("fence")
        lang = opening.group("lang").lower() or None
        lang = _LANG_ALIASES.get(lang, lang) if lang else None
        body_start = opening.end() + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = closing.search(text, body_start)
        body = text[body_start : end.start() if end else len(text)]
        blocks.append(CodeBlock(code=body.rstrip() + "\n" if body.strip() else "", language=lang, fenced=True,
                                start=body_start))  # fmt: skip
        if end is None:
            break
        pos = end.end()
    return blocks


def defined_names(code: str) -> set[str]:
    """Top-level functions, classes and assigned names of ``code`` (empty when it does not parse)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _unfenced(text: str) -> str | None:
    """Bare code in an answer: all of it if it parses, else the code run from the first ``def``/``import``."""
    if text.strip() and _parses(text) and _CODE_START.search(text.lstrip()):
        return text.strip("\n") + "\n"
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    if not starts:
        return None
    chunk = lines[starts[0] :]
    # Drop trailing prose one line at a time until the rest parses (bounded: answers are short).
    for end in range(len(chunk), 0, -1):
        candidate = "\n".join(chunk[:end]).rstrip() + "\n"
        if _parses(candidate):
            return candidate
    return None


def extract_python(text: str, names: Iterable[str] = ()) -> str | None:
    """The Python code in an answer, preferring the block that defines ``names``.

    Fenced blocks tagged python (or untagged) are candidates; the one defining most of ``names`` wins, then
    one that parses, then the longest. When no single block defines every name but several together do, the
    blocks are joined. Without fences, bare code is taken (trailing prose dropped). None when there is no code.
    """
    wanted = set(names)
    blocks = [b for b in code_blocks(text) if b.language in (None, "python") and b.code.strip()]
    if not blocks:
        return _unfenced(text)
    scored = []
    for block in blocks:
        defined = defined_names(block.code)
        scored.append((len(wanted & defined), _parses(block.code), len(block.code), block))
    best = max(scored, key=lambda s: s[:3])
    if wanted and best[0] < len(wanted):
        parts = [s[3].code for s in scored if s[1] and s[0]]
        joined = "\n".join(parts)
        if wanted <= defined_names(joined):
            return joined
    return best[3].code


# -- JSON -----------------------------------------------------------------------------------------------


def _json_span(text: str) -> str | None:
    """The first balanced ``{...}`` or ``[...]`` in ``text`` (string-aware), or the rest when unbalanced."""
    start = next((i for i, ch in enumerate(text) if ch in "{["), None)
    if start is None:
        return None
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return text[start:]


def _outside_strings(text: str) -> str:
    """Remove comments and trailing commas, and map Python literals to JSON, outside string literals."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
            continue
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch == ",":
            rest = text[i + 1 :].lstrip()
            if rest[:1] in ("}", "]"):
                i += 1
                continue
        match = re.match(r"(True|False|None)\b", text[i:])
        if match and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            out.append({"True": "true", "False": "false", "None": "null"}[match.group(1)])
            i += len(match.group(1))
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class _JsonNames(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        consts = {"true": True, "false": False, "null": None, "none": None}
        if node.id in consts:
            return ast.copy_location(ast.Constant(consts[node.id]), node)
        return node


def _python_literal(span: str) -> Any:
    tree = _JsonNames().visit(ast.parse(span.strip(), mode="eval"))
    return ast.literal_eval(tree)


def extract_json(text: str) -> Any:
    """Parse the JSON value in a model's answer, repairing common near-JSON.

    Accepts plain JSON; JSON in a ```json fence; JSON preceded or followed by prose; trailing commas;
    ``//`` and ``/* */`` comments; Python literals (single quotes, True/False/None). Raises ``ValueError``
    (with the reason) when nothing parses.
    """
    candidates: list[str] = []
    for block in code_blocks(text):
        if block.language in (None, "json", "javascript", "js") and block.code.strip():
            candidates.append(block.code)
    candidates.append(text)
    last_error = "no JSON object or array found"
    for candidate in candidates:
        stripped = candidate.strip()
        try:
            return json.loads(stripped)
        except ValueError as exc:
            last_error = str(exc)
        span = _json_span(stripped)
        if span is None:
            continue
        for attempt in (span, _outside_strings(span)):
            try:
                return json.loads(attempt)
            except ValueError as exc:
                last_error = str(exc)
        try:
            value = _python_literal(span)
            json.dumps(value)
            return value
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    raise ValueError(f"answer is not JSON: {last_error}")
