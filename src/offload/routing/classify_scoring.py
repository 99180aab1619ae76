"""Scoring helpers for classification: code vs. prose in a message, function stubs, phrase scores per kind,
the complexity score, and the choice of kind from the scores. Pure functions over the data in
:mod:`offload.routing.classify_tables`.
"""

from __future__ import annotations

from offload.routing.classify_profile import KINDS
from offload.routing.classify_tables import (
    CODE_STARTS,
    COMPLEX_PHRASES,
    COMPLEX_WORDS,
    FILLER,
    FIRST_VERB,
    N_ITEMS,
    N_LINES,
    SCAN_CAP,
    SIMPLE_WORDS,
    STUB_BODY,
    TABLE,
)

__all__ = ["is_stub", "pick_kind", "score_complexity", "score_kinds", "split_code"]


def _fenced_lines(block: str) -> int:
    """Lines of code inside one fenced block (its first line is the info string, e.g. ``python``)."""
    body = block.split("\n", 1)[1] if "\n" in block else ""
    return body.count("\n") + (1 if body and not body.endswith("\n") else 0)


def split_code(text: str) -> tuple[str, int]:
    """(prose, code lines): fenced blocks are code; without fences, code-looking lines are."""
    text = text[:SCAN_CAP]
    if "```" in text:
        parts = text.split("```")
        prose = "\n".join(parts[0::2])
        return prose, sum(_fenced_lines(p) for p in parts[1::2])
    if text.count("\n") < 3:
        return text, 0
    prose_lines, code = [], 0
    for line in text.splitlines():
        s = line.strip()
        if s and (line[:1] in " \t" and s[-1:] in ":{};)]," or s.startswith(CODE_STARTS) or s[-1:] in "{;"):
            code += 1
        else:
            prose_lines.append(line)
    return "\n".join(prose_lines), code


def is_stub(text: str) -> bool:
    """The last function in ``text`` has no body but a docstring / ``pass`` / ``...`` / TODO: write it."""
    i = max(text.rfind("def "), text.rfind("function "))
    if i < 0:
        return False
    signature, _, body = text[i : i + 20_000].partition("\n")
    if not signature.rstrip().rstrip("`").rstrip().endswith((":", "{", "-> None:")):
        return False
    in_doc = False
    for line in body.splitlines():
        s = line.strip().strip("`").strip()
        quotes = s.count('"""') + s.count("'''")
        if in_doc or quotes:
            in_doc = in_doc != (quotes % 2 == 1)
            continue
        if not s or s.startswith(("#", "//", ">>>")) or s in STUB_BODY or s.startswith("raise NotImplementedError"):
            continue
        return False
    return True


def score_kinds(words: list[str]) -> dict[str, float]:
    """Weighted phrase hits per kind over stemmed words; the opening words (the instruction) count 1.5x."""
    scores: dict[str, float] = {}
    table = TABLE
    seen: set[tuple[str, ...]] = set()
    n = len(words)
    for i in range(n):
        boost = 1.5 if i < 12 else 1.0
        for j in (1, 2, 3):
            if i + j > n:
                break
            key = tuple(words[i : i + j])
            hits = table.get(key)
            if hits and key not in seen:
                seen.add(key)
                for kind, w in hits:
                    scores[kind] = scores.get(kind, 0.0) + w * boost
    first = next((w for w in words[:3] if w not in FILLER), None)
    if first in FIRST_VERB:
        kind, bonus = FIRST_VERB[first]
        scores[kind] = scores.get(kind, 0.0) + bonus
    return scores


def score_complexity(kind: str, low: str, words: set[str], code_lines: int, files: int, tokens: int) -> tuple[str, str]:
    """Score scope signals in the lowercased prose; <= 0 simple, 1-2 moderate, >= 3 complex."""
    score = 0
    why: list[str] = []
    lines = max([code_lines, *(int(n) for n in N_LINES.findall(low))])
    score += 3 if lines >= 100 else 2 if lines >= 40 else 1 if lines >= 15 else 0
    if lines:
        why.append(f"{lines} code lines")
    score += 3 if files >= 5 else 2 if files >= 4 else 1 if files >= 2 else 0
    if files:
        why.append(f"{files} files")
    score += 2 if tokens >= 16_000 else 1 if tokens >= 4_000 else 0
    if tokens >= 4_000:
        why.append(f"~{tokens} tokens")
    hard = len(words & COMPLEX_WORDS) + sum(1 for p in COMPLEX_PHRASES if p in low)
    easy = len(words & SIMPLE_WORDS)
    if hard:
        score += min(hard, 3)
        why.append(f"{hard} scope words")
    if easy:
        score -= min(easy, 2)
        why.append(f"{easy} 'simple' words")
    if len(words) >= 30:
        score += 1
        why.append("long instruction")
    if kind == "architecture":
        score += 1
    elif kind in ("fixtures", "mock_api"):
        volume = max([0, *(int(n) * (1000 if k else 1) for n, k in N_ITEMS.findall(low))])
        if volume >= 1000:
            score += 1
            why.append(f"{volume} items")
    level = "simple" if score <= 0 else "moderate" if score <= 2 else "complex"
    return level, f"complexity {level} (score {score}: {', '.join(why) or 'short, plain request'})"


def pick_kind(scores: dict[str, float], code_lines: int, marker: str | None) -> tuple[str, str]:
    """(kind, reason): the top score (ties: the earlier kind); no score means explain (code given) or chat."""
    if not scores:
        if code_lines:
            return "explain", "kind explain (code without an instruction)"
        return "chat", "kind chat (no coding words)"
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], KINDS.index(kv[0])))
    kind, top = ranked[0]
    why = f"kind {kind} (score {top:.1f}"
    if len(ranked) > 1:
        why += f" over {ranked[1][0]} {ranked[1][1]:.1f}"
    if marker:
        why += f"; error marker {marker.strip()!r}"
    return kind, why + ")"
