"""Turn a builder's answer into whole-file edits: find each fenced block and the path it belongs to.

The bench asks for "the path on its own line, then the whole file in a fenced block", and accepts the other
ways models label files: the path in the fence's info string (```` ```python src/app.py ````), a heading or
bold line above the fence (``### `src/app.py` ``), or a first-line comment inside the block
(``# src/app.py``). A path that names a file by its base name only (``core.py`` for ``pkg/core.py``) is
mapped to the one file with that name. Blocks without a path are ignored, except in one-file repositories,
where the code in the answer goes to that file. Diffs are not applied (whole files only).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from offload.routing.codeblocks import code_blocks, extract_python

__all__ = ["FileEdit", "keep_original_imports", "parse_edits", "strip_thinking", "syntax_errors"]

_PATH = re.compile(r"^(?:[\w@+-][\w.@+-]*/)*[\w@+-][\w.@+-]*\.[A-Za-z0-9]{1,10}$")
_LABEL_PREFIX = re.compile(
    r"^(?:#+|\*+|-|>|\d+\.)?\s*(?:(?:file|filename|path|new file|updated file)\s*[:=-]\s*)?", re.I
)
_COMMENT_PATH = re.compile(
    r"^\s*(?:#|//|--|/\*|<!--)\s*(?:(?:file|filename|path)\s*:\s*)?(\S+?)\s*(?:\*/|-->)?\s*$", re.I
)
#: Extensions a model may create new files with (anything else in a label is taken for prose).
_NEW_FILE_EXTS = {
    "py", "pyi", "md", "rst", "txt", "toml", "json", "yaml", "yml", "cfg", "ini", "sh", "csv",
    "js", "ts", "jsx", "tsx", "html", "css", "go", "rs", "java", "c", "h", "cpp", "hpp", "rb", "sql",
}  # fmt: skip
_LANGS = {"python", "py", "python3", "diff", "patch", "text", "txt", "json", "toml", "yaml", "yml", "sh", "bash"}


@dataclass(frozen=True)
class FileEdit:
    """The new whole content of one file."""

    path: str
    content: str


def _clean_label(line: str) -> str | None:
    text = line.strip().strip("*_").strip()
    text = _LABEL_PREFIX.sub("", text).strip()
    text = text.strip("`'\"*_ ").rstrip(":").strip("`'\"*_ ")
    tokens = [t.strip("`'\"*_(),:") for t in text.split()]
    candidates = [t for t in tokens if _PATH.match(t)]
    return candidates[-1] if candidates else None


def _from_info(info: str) -> str | None:
    for raw in re.split(r"[\s:]+", info.strip()):
        token = raw.split("=", 1)[1] if "=" in raw else raw
        token = token.strip("`'\"{}")
        if token.lower() not in _LANGS and _PATH.match(token):
            return token
    return None


def _resolve(candidate: str, known: Mapping[str, str]) -> str | None:
    path = candidate[2:] if candidate.startswith("./") else candidate
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] == ".git":
        return None
    if path in known:
        return path
    if p.suffix.lower().lstrip(".") not in _NEW_FILE_EXTS:
        return None
    suffix = [k for k in known if k.endswith("/" + path)]
    if len(suffix) == 1:
        return suffix[0]
    same_name = [k for k in known if PurePosixPath(k).name == p.name]
    if len(p.parts) == 1 and len(same_name) == 1:
        return same_name[0]
    return path


def _is_diff(lang: str | None, code: str) -> bool:
    head = code.lstrip()[:200]
    return lang in ("diff", "patch") or head.startswith(("--- ", "diff --git", "@@ "))


_THINKING = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|$)", re.S | re.I)


def strip_thinking(text: str) -> str:
    """``text`` without ``<think>...</think>`` sections (reasoning models that inline their thoughts)."""
    return _THINKING.sub("", text).strip()


def parse_edits(answer: str, files: Mapping[str, str], *, entry_point: str | None = None) -> list[FileEdit]:
    """The whole-file edits in ``answer`` for a repository holding ``files`` (last edit of a path wins)."""
    answer = strip_thinking(answer)
    edits: dict[str, str] = {}
    for block in code_blocks(answer):
        if not block.code.strip():
            continue
        fence_line_end = answer.rfind("\n", 0, block.start - 1) + 1
        fence_line = answer[fence_line_end : block.start].strip().lstrip("`~")
        if _is_diff(block.language, block.code):
            continue
        path = _from_info(fence_line)
        if path is None:
            above = answer[:fence_line_end].rstrip("\n").splitlines()[-3:]
            for line in reversed(above):
                if line.strip():
                    path = _clean_label(line)
                    break
        code = block.code
        if path is None:
            first = code.partition("\n")[0]
            match = _COMMENT_PATH.match(first)
            if match and _PATH.match(match.group(1)):
                path = match.group(1)
        resolved = _resolve(path, files) if path else None
        if resolved is not None:
            edits[resolved] = code
    only = next(iter(files)) if len(files) == 1 else None
    if only is not None and only.endswith(".py") and only not in edits:
        # one-file repository: the answer's code belongs to that file, whatever the model called it
        found = extract_python(answer, [entry_point] if entry_point else [])
        if found and found.strip():
            edits = {only: found}
    return [FileEdit(p, c) for p, c in edits.items()]


def syntax_errors(edits: list[FileEdit]) -> list[str]:
    """``path:line: message`` for every Python file in ``edits`` that does not compile."""
    out = []
    for e in edits:
        if not e.path.endswith(".py"):
            continue
        try:
            compile(e.content, e.path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            out.append(f"{e.path}:{exc.lineno}: {exc.msg}")
        except ValueError as exc:
            out.append(f"{e.path}: {exc}")
    return out


def _imports(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    return [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]


def keep_original_imports(original: str, new: str) -> str:
    """``new`` with the top-level imports of ``original`` it lacks put back on top (HumanEval-style tasks)."""
    have = set(_imports(new))
    missing = [imp for imp in _imports(original) if imp not in have]
    if not missing:
        return new
    return "\n".join(missing) + "\n\n" + new
