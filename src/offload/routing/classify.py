"""Classification: a task in, a :class:`TaskProfile` out — pure, deterministic, explainable and fast.

It runs on every gateway request, so it does no I/O and no heavy pattern matching: the prose of the last user
message is split into words, each word is reduced to a crude stem, and the 1-, 2- and 3-word sequences are
looked up in one precompiled table of weighted phrases per kind. Words in the opening of the request (the
instruction) weigh more. Complexity comes from lines of code, files mentioned, context tokens and wording.

Explicit hints always win: ``Task.kind``, ``Task.hints`` (the ``x-offload-*`` headers: ``kind``,
``complexity``, ``locality``, ``scenario``), ``request.metadata`` and the model names ``offload/auto``,
``offload/local``, ``offload/cloud`` and ``offload/<kind>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from offload.errors import InvalidRequest
from offload.routing.task import Task
from offload.types import ChatRequest, estimate_tokens

Kind = Literal[
    "code_generation", "refactor", "review", "explain", "test_generation", "fixtures",
    "mock_api", "vision", "architecture", "debug", "chat", "embedding",
]  # fmt: skip
Complexity = Literal["simple", "moderate", "complex"]
Locality = Literal["any", "local", "cloud"]
#: Claude Code traffic classes the gateway detects and the policy maps (``[policy.claude_code]``).
Scenario = Literal["background", "long_context", "thinking", "web_search", "images", "main_loop"]

KINDS: tuple[str, ...] = get_args(Kind)
COMPLEXITIES: tuple[str, ...] = get_args(Complexity)
SCENARIOS: tuple[str, ...] = get_args(Scenario)
#: Kinds whose answer is code (the policy's ``accept_unverified_code`` applies to them).
CODE_KINDS = frozenset({"code_generation", "refactor", "test_generation", "debug"})

KIND_ALIASES = {
    "code": "code_generation", "codegen": "code_generation", "generate": "code_generation",
    "tests": "test_generation", "test": "test_generation", "unit_tests": "test_generation",
    "docs": "explain", "docstring": "explain", "docstrings": "explain", "explanation": "explain",
    "fixture": "fixtures", "seed": "fixtures", "seed_data": "fixtures", "data": "fixtures",
    "mock": "mock_api", "mocks": "mock_api", "image": "vision", "images": "vision", "screenshot": "vision",
    "design": "architecture", "fix": "debug", "bugfix": "debug", "embed": "embedding", "embeddings": "embedding",
    "code_review": "review",
}  # fmt: skip
_AUTO_MODELS = frozenset({"", "auto", "default", "offload", "offload/auto"})


@dataclass(frozen=True, slots=True)
class TaskProfile:
    """What the router knows about a task, with the reasons for each conclusion."""

    kind: str
    complexity: str
    locality: str = "any"
    needs_tools: bool = False
    has_images: bool = False
    needs_json: bool = False
    #: Input tokens (estimate: text, tool schemas, ~800 per image).
    estimated_tokens: int = 0
    #: Tokens the answer will likely need (a per-kind guess, capped by ``max_tokens``).
    expected_output_tokens: int = 0
    code_lines: int = 0
    files: int = 0
    scenario: str | None = None
    #: A concrete model asked for by name (not ``auto`` / ``offload/*``): the policy routes straight to it.
    model: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def is_code(self) -> bool:
        return self.kind in CODE_KINDS

    @property
    def total_tokens(self) -> int:
        """Input plus expected output: what must fit in a model's context window."""
        return self.estimated_tokens + self.expected_output_tokens


# -- the phrase table -----------------------------------------------------------------------------------
@lru_cache(maxsize=16384)
def _stem(w: str) -> str:
    """A crude, consistent stem: ``tests``/``testing`` -> ``test``, ``fixtures``/``fixture`` -> ``fixtur``."""
    n = len(w)
    if n > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif n > 5 and w.endswith("ing"):
        w = w[:-3]
    elif n > 5 and w.endswith("ed") or n > 4 and w.endswith("es"):
        w = w[:-2]
    elif n > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


_WORD = re.compile(r"[a-z0-9_]+(?:'[a-z]+)?")

# kind -> {phrase: weight}. Phrases are written naturally and stemmed once at import.
_PHRASES: dict[str, dict[str, float]] = {
    "code_generation": {
        "write": 1, "implement": 2.5, "create": 1, "build": 1, "generate": 0.5, "function": 1.5, "class": 1,
        "script": 1.5, "add a": 0.5, "endpoint": 1, "cli": 1, "program": 1.5, "snippet": 1.5, "method": 1,
        "write a function": 2, "write a": 0.5, "that takes": 1, "which takes": 1, "returns": 0.5, "return": 0.5,
        "code for": 1.5, "code that": 1.5, "add support": 2, "feature": 1.5, "one-liner": 1.5, "regex": 1,
        "parser": 1, "decorator": 1, "component": 1, "hook": 0.5, "module": 0.5, "scaffold": 2, "helper": 1,
        "sql query": 1.5, "bash": 1, "dockerfile": 1.5, "workflow": 0.5, "handler": 1, "algorithm": 1,
        "make a": 0.5, "given a list": 1, "given a string": 1, "in the docstring": 4, "doctest": 2.5,
    },
    "refactor": {
        "refactor": 4, "rename": 3, "clean up": 3, "cleanup": 3, "simplify": 3, "restructure": 3,
        "extract": 2, "deduplicate": 3, "duplication": 2.5, "more readable": 3, "readability": 2.5,
        "idiomatic": 2.5, "pythonic": 2.5, "modernize": 3, "migrate": 2, "convert": 1.5, "rewrite": 2,
        "split this": 2, "split the": 1.5, "type hints": 2.5, "type annotations": 2.5, "dataclass": 1,
        "async/await": 1.5, "dry principle": 3, "not dry": 2, "cleaner": 2.5, "reduce nesting": 3, "make it more": 1.5, "port": 1, "replace": 1,
        "without changing behavior": 3, "without changing behaviour": 3, "tidy": 3, "more maintainable": 3,
        "f-string": 1.5, "list comprehension": 1.5, "turn this": 2, "nested": 1.5, "guard clause": 3,
        "early return": 3, "move": 0.5, "inline": 1, "decouple": 2,
    },
    "review": {
        "review": 4, "code review": 5, "look over": 3, "critique": 3.5, "feedback on": 3, "pull request": 2.5,
        "any issues": 3, "anything wrong": 3, "spot": 1.5, "security issue": 2, "vulnerabilit": 2.5,
        "code smell": 3, "best practice": 1.5, "nitpick": 3, "lgtm": 3, "sanity check": 3, "audit": 3,
        "problems with this": 2.5, "is this correct": 2.5, "is this code": 1.5, "what's wrong with": 1.5,
        "pr": 1.5, "diff": 1.5, "check this": 2, "check my": 2, "potential bugs": 2, "race condition": 1,
        "pre-screen": 2, "prefilter": 2, "pre-filter": 2, "triage": 2, "is this": 2, "thread safe": 2,
    },
    "explain": {
        "explain": 4, "what does": 3, "how does": 3, "what is": 1.5, "what are": 1.5, "why is": 1,
        "walk me through": 4, "understand": 2, "docstring": 4, "document": 3, "documentation": 3,
        "comment": 2, "comments": 2, "summarize": 3, "summary": 2, "describe": 2.5, "meaning of": 2.5,
        "difference between": 3, "eli5": 4, "tell me about": 2, "readme": 2.5, "jsdoc": 4, "annotate": 1.5,
        "how do": 1, "what happens": 2, "purpose of": 2.5, "overview": 2, "teach": 2, "in plain english": 3,
    },
    "test_generation": {
        "test": 2.5, "unit test": 4, "pytest": 3, "jest": 3, "vitest": 3, "test case": 3.5, "test suite": 3.5,
        "coverage": 2.5, "edge case": 1.5, "tests for": 3, "write tests": 4, "add tests": 4, "junit": 3,
        "assert": 1, "property-based": 3, "hypothesis": 1.5, "integration test": 3.5, "e2e test": 3,
        "parametrize": 3, "regression test": 3.5, "spec": 1, "mocha": 3, "rspec": 3, "table-driven": 2.5,
    },
    "fixtures": {
        "fixture": 4, "seed data": 5, "seed": 2.5, "test data": 4, "sample data": 4, "fake data": 4,
        "dummy data": 4, "mock data": 3, "fake": 2.5, "for testing": 1.5, "records": 2, "rows": 2, "csv": 2, "faker": 3, "populate": 2.5,
        "realistic": 1.5, "synthetic": 3, "dataset": 1.5, "entries": 1.5, "bulk": 2.5, "users": 0.5,
        "factory": 1.5, "sample": 1, "placeholder": 1.5, "lorem ipsum": 3, "generate 50": 2, "generate 100": 2,
        "generate 20": 2, "generate 10": 2, "generate 1000": 2, "yaml": 0.5, "json array": 2, "insert statements": 3,
    },
    "mock_api": {
        "mock api": 6, "mock response": 6, "mock server": 5, "api response": 3.5, "fake api": 5,
        "stub": 3, "response for": 2.5, "response body": 3.5, "json response": 3.5, "status code": 1.5,
        "openapi": 2, "swagger": 2, "wiremock": 5, "msw": 4, "fake endpoint": 5, "mock endpoint": 5,
        "payload": 2, "example response": 4, "sample response": 4, "webhook payload": 4,
        "graphql response": 4, "http response": 3, "rest api": 1, "error response": 3.5,
        "response": 1, "look like": 1.5,
    },
    "vision": {
        "screenshot": 4, "image": 3, "picture": 3, "photo": 3, "diagram": 2, "mockup": 2.5, "this ui": 1.5,
        "visual": 2, "pixel": 2, "rendered": 1.5, "ocr": 3, "in the image": 4, "attached image": 4,
    },
    "architecture": {
        "architecture": 4.5, "architect": 4, "how would you": 1.5, "system design": 5, "design a system": 5, "design the": 2, "microservice": 3.5,
        "monolith": 3.5, "trade-off": 3.5, "tradeoff": 3.5, "scalab": 3, "scale to": 3, "high-level design": 5,
        "should we use": 3, "should i use": 2.5, "should our": 3, "should we": 2.5, "graphql": 1, "vs": 1.5, "versus": 1.5, "event-driven": 3, "message queue": 2.5,
        "kafka": 2, "database schema": 2.5, "data model": 2, "sharding": 3, "multi-tenant": 3, "approach": 1,
        "infrastructure": 2.5, "decouple": 1, "bounded context": 3, "cqrs": 3, "event sourcing": 3,
        "how should i structure": 4, "how should we structure": 4, "design decision": 4, "adr": 3,
        "pros and cons": 3, "choose between": 3, "layering": 2, "deployment": 1.5, "kubernetes": 1.5,
        "caching strategy": 3, "strategy": 1.5, "roadmap": 2, "plan the": 1.5, "migration plan": 3,
    },
    "debug": {
        "debug": 4, "bug": 3, "error": 2.5, "exception": 2.5, "traceback": 4, "stack trace": 4, "crash": 3,
        "fails": 2.5, "failing": 2.5, "broken": 3, "doesn't work": 4, "does not work": 4, "not working": 4,
        "fix": 3, "fixed": 3, "why does": 2.5, "why is": 1.5, "wrong": 2, "unexpected": 2.5, "segfault": 4,
        "hangs": 3, "deadlock": 3, "memory leak": 3.5, "undefined": 2, "nan": 1, "returns none": 3,
        "keeps": 1, "instead of": 1.5, "issue": 1, "throws": 3, "raises": 2, "panic": 2.5, "off-by-one": 3,
        "flaky": 3, "infinite loop": 2.5, "not defined": 3, "cannot find": 2, "can't figure out": 2.5,
        "what's wrong": 2.5, "why am i getting": 3.5, "connection refused": 3, "typeerror": 4, "keyerror": 4, "valueerror": 4, "nullpointer": 4, "404": 1,
        "500": 1, "timeout": 1.5, "sometimes": 2, "intermittent": 3, "twice": 1, "why": 1, "regression": 1, "slow": 1.5, "stopped working": 4, "behaves": 1.5,
    },
    "chat": {
        "hi": 3, "hello": 3, "thanks": 3, "thank you": 3, "hey": 2.5, "good morning": 3, "joke": 3,
        "recommend": 1.5, "opinion": 1.5, "weather": 3, "email": 2, "translate": 2.5, "poem": 3,
        "write a story": 3, "letter": 1.5, "rephrase": 2.5, "proofread": 3, "grammar": 2, "recipe": 3,
        "who are you": 3, "how are you": 3, "book": 1, "career": 2, "interview": 1.5, "salary": 2, "tweet": 2.5,
    },
    "embedding": {"embedding": 5, "embed": 4, "vector": 2, "semantic search": 2, "similarity": 1.5},
}  # fmt: skip


def _build_table() -> dict[tuple[str, ...], tuple[tuple[str, float], ...]]:
    table: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for kind, phrases in _PHRASES.items():
        for phrase, weight in phrases.items():
            key = tuple(_stem(w) for w in _WORD.findall(phrase))
            if key:
                table.setdefault(key, []).append((kind, float(weight)))
    return {k: tuple(v) for k, v in table.items()}


_TABLE = _build_table()
_COMPLEX_WORDS = frozenset(_stem(w) for w in (
    "entire", "whole", "across", "production", "scalable", "distributed", "microservices", "concurrent", "codebase",
    "system", "architecture", "pipeline", "framework", "complete", "comprehensive", "robust", "enterprise",
    "orchestration", "integration", "billions", "millions",
))  # fmt: skip
_COMPLEX_PHRASES = ("real-time", "realtime", "multi-tenant", "end-to-end", "full-stack", "under load",
                    "at scale", "every file", "all modules", "conflict resolution", "offline support")  # fmt: skip
#: An instruction that opens with one of these verbs leans to that kind.
_FIRST_VERB = {_stem(w): (k, b) for ws, k, b in (
    ("implement", "code_generation", 2.0),
    ("refactor turn rename simplify extract convert migrate clean restructure tidy modernize", "refactor", 2.0),
    ("review critique audit", "review", 2.0),
    ("explain describe summarize document", "explain", 2.0),
    ("fix debug", "debug", 2.0),
    ("design propose architect", "architecture", 1.5),
) for w in ws.split()}  # fmt: skip
_SIMPLE_WORDS = frozenset(_stem(w) for w in (
    "simple", "small", "quick", "tiny", "liner", "short", "single", "basic", "trivial", "little", "minimal",
    "brief", "easy",
))  # fmt: skip
#: Error output anywhere in the message (even inside a code block) means a debugging task.
_DEBUG_MARKERS = ("traceback (most recent call last)", "exception in thread", "panic:", "segmentation fault",
                  "uncaught ", "stack trace")  # fmt: skip
#: Weaker markers, believed only outside code (``except OSError:`` is not an error message).
_PROSE_DEBUG_MARKERS = ("error:", "\n    at ")
_CODE_STARTS = ("def ", "class ", "import ", "from ", "return ", "function ", "const ", "let ", "var ", "public ",
                "private ", "#include", "@", "}", "if ", "for ", "while ", "fn ", "func ", "async ", "export ")  # fmt: skip
_FILE = re.compile(
    r"(?<![\w/.-])[\w./-]*\w\.(?:py|pyi|js|mjs|ts|tsx|jsx|go|rs|java|kt|rb|php|c|h|cc|cpp|hpp|cs|swift|scala|sql"
    r"|sh|ya?ml|toml|json|md|html|css|scss|vue|svelte|ipynb|tf|proto|gradle|lock)\b"
)
_N_FILES = re.compile(r"\b(\d{1,4})\s+(?:files|modules|services|repos|packages)\b")
_N_LINES = re.compile(r"\b(\d{2,6})[- ]?(?:lines?|loc)\b")
_N_ITEMS = re.compile(r"\b(\d{1,7})(k?)\s+(?:[a-z-]+\s+)?[a-z]+s\b")
_OUT_BASE = {"chat": 300, "explain": 600, "review": 700, "debug": 700, "refactor": 900, "code_generation": 900,
             "test_generation": 1200, "fixtures": 1500, "mock_api": 800, "architecture": 1500, "vision": 400,
             "embedding": 0}  # fmt: skip
_OUT_FACTOR = {"simple": 1.0, "moderate": 1.5, "complex": 3.0}
_STUB_BODY = frozenset({"pass", "...", "}", "ts", "js", "python", "py"})
_FILLER = frozenset({"pleas", "can", "could", "you", "now", "also", "just", "then", "we", "i", "let'", "ok", "hey"})
_PROSE_HEAD, _PROSE_TAIL, _SCAN_CAP = 1500, 600, 200_000


def normalize_kind(value: str) -> str:
    """A kind name or alias (``tests``, ``docs``, ``mock`` ...) as a kind; :class:`InvalidRequest` if unknown."""
    v = value.strip().lower().replace("-", "_").replace(" ", "_")
    v = KIND_ALIASES.get(v, v)
    if v not in KINDS:
        raise InvalidRequest(f"unknown task kind {value!r}", hint=f"use one of: {', '.join(KINDS)}")
    return v


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    v = value.strip().lower()
    if v not in allowed:
        raise InvalidRequest(f"unknown {what} {value!r}", hint=f"use one of: {', '.join(allowed)}")
    return v


def _fenced_lines(block: str) -> int:
    """Lines of code inside one fenced block (its first line is the info string, e.g. ``python``)."""
    body = block.split("\n", 1)[1] if "\n" in block else ""
    return body.count("\n") + (1 if body and not body.endswith("\n") else 0)


def _split_code(text: str) -> tuple[str, int]:
    """(prose, code lines): fenced blocks are code; without fences, code-looking lines are."""
    text = text[:_SCAN_CAP]
    if "```" in text:
        parts = text.split("```")
        prose = "\n".join(parts[0::2])
        return prose, sum(_fenced_lines(p) for p in parts[1::2])
    if text.count("\n") < 3:
        return text, 0
    prose_lines, code = [], 0
    for line in text.splitlines():
        s = line.strip()
        if s and (line[:1] in " \t" and s[-1:] in ":{};)]," or s.startswith(_CODE_STARTS) or s[-1:] in "{;"):
            code += 1
        else:
            prose_lines.append(line)
    return "\n".join(prose_lines), code


def _is_stub(text: str) -> bool:
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
        if not s or s.startswith(("#", "//", ">>>")) or s in _STUB_BODY or s.startswith("raise NotImplementedError"):
            continue
        return False
    return True


def _last_user_index(request: ChatRequest) -> int:
    """Index of the last user message with text (the instruction), else the last message; -1 when empty."""
    for i in range(len(request.messages) - 1, -1, -1):
        m = request.messages[i]
        if m.role == "user" and m.text_content.strip():
            return i
    return len(request.messages) - 1


def _score_kinds(words: list[str]) -> dict[str, float]:
    """Weighted phrase hits per kind over stemmed words; the opening words (the instruction) count 1.5x."""
    scores: dict[str, float] = {}
    table = _TABLE
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
    first = next((w for w in words[:3] if w not in _FILLER), None)
    if first in _FIRST_VERB:
        kind, bonus = _FIRST_VERB[first]
        scores[kind] = scores.get(kind, 0.0) + bonus
    return scores


def _complexity(kind: str, low: str, words: set[str], code_lines: int, files: int, tokens: int) -> tuple[str, str]:
    """Score scope signals in the lowercased prose; <= 0 simple, 1-2 moderate, >= 3 complex."""
    score = 0
    why: list[str] = []
    lines = max([code_lines, *(int(n) for n in _N_LINES.findall(low))])
    score += 3 if lines >= 100 else 2 if lines >= 40 else 1 if lines >= 15 else 0
    if lines:
        why.append(f"{lines} code lines")
    score += 3 if files >= 5 else 2 if files >= 4 else 1 if files >= 2 else 0
    if files:
        why.append(f"{files} files")
    score += 2 if tokens >= 16_000 else 1 if tokens >= 4_000 else 0
    if tokens >= 4_000:
        why.append(f"~{tokens} tokens")
    hard = len(words & _COMPLEX_WORDS) + sum(1 for p in _COMPLEX_PHRASES if p in low)
    easy = len(words & _SIMPLE_WORDS)
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
        volume = max([0, *(int(n) * (1000 if k else 1) for n, k in _N_ITEMS.findall(low))])
        if volume >= 1000:
            score += 1
            why.append(f"{volume} items")
    level = "simple" if score <= 0 else "moderate" if score <= 2 else "complex"
    return level, f"complexity {level} (score {score}: {', '.join(why) or 'short, plain request'})"


def _tool_tokens(request: ChatRequest) -> int:
    if not request.tools:
        return 0
    return sum(estimate_tokens(t.name + t.description + json.dumps(t.parameters)) for t in request.tools)


def classify(task: Task) -> TaskProfile:
    """Profile ``task``: kind, complexity, needs, token estimates and the reasons for each."""
    req = task.request
    meta = req.metadata
    hints = {k.lower(): str(v) for k, v in task.hints.items()}
    reasons: list[str] = []

    # model name: offload/auto | offload/local | offload/cloud | offload/<kind> | a concrete model
    model_name = (req.model or "").strip()
    locality, model, model_kind = "any", None, None
    low = model_name.lower()
    if low in _AUTO_MODELS:
        pass
    elif low in ("offload/local", "offload/cloud"):
        locality = low.split("/", 1)[1]
        reasons.append(f"model {model_name!r}: {locality} models only")
    elif low.startswith("offload/"):
        model_kind = normalize_kind(low.split("/", 1)[1])
    else:
        model = model_name
        reasons.append(f"model {model_name!r} asked for by name")
    if "locality" in hints:
        locality = _choice(hints["locality"], ("any", "local", "cloud"), "locality")
        reasons.append(f"locality {locality} (hint)")

    last = _last_user_index(req)
    text = req.messages[last].text_content if last >= 0 else ""
    has_images = req.has_images
    needs_tools = bool(req.tools) and req.tool_choice != "none"
    needs_json = req.response_format.type != "text" or task.verify.json_schema is not None or task.verify.json_only
    prose, code_lines = _split_code(text)
    for i, m in enumerate(req.messages):
        if i != last and m.role in ("user", "tool"):
            code_lines += _split_code(m.text_content)[1]
    prose_cut = prose if len(prose) <= _PROSE_HEAD + _PROSE_TAIL else prose[:_PROSE_HEAD] + "\n" + prose[-_PROSE_TAIL:]
    prose_low = prose_cut.lower()
    words = [_stem(w) for w in _WORD.findall(prose_low)]
    files = len(set(_FILE.findall(prose_cut)))
    named = [int(n) for n in _N_FILES.findall(prose_low)]
    files = max([files, *named])
    tokens = estimate_tokens(req.all_text()) + 4 * len(req.messages) + _tool_tokens(req)
    tokens += 800 * sum(len(m.images) for m in req.messages)

    # kind: explicit hint > model name > images > phrase scores
    explicit = task.kind or hints.get("kind") or (meta.get("kind") if isinstance(meta.get("kind"), str) else None)
    if explicit:
        kind = normalize_kind(explicit)
        reasons.append(f"kind {kind} (given by the caller)")
    elif model_kind:
        kind = model_kind
        reasons.append(f"kind {kind} (from model name {model_name!r})")
    elif has_images:
        kind = "vision"
        reasons.append("kind vision (the request holds images)")
    else:
        scores = _score_kinds(words)
        low_text = text[:4000].lower()
        marker = next((m for m in _DEBUG_MARKERS if m in low_text), None) or next(
            (m for m in _PROSE_DEBUG_MARKERS if m in prose_low), None
        )
        if marker:
            scores["debug"] = scores.get("debug", 0.0) + 4.0
        if _is_stub(text):
            scores["code_generation"] = scores.get("code_generation", 0.0) + 5.0
            reasons.append("a function stub to complete (signature and docstring, no body)")
        if needs_json and "mock_api" not in scores and "fixtures" not in scores:
            scores["fixtures"] = scores.get("fixtures", 0.0) + 0.5
        kind, reason = _pick_kind(scores, code_lines, marker)
        reasons.append(reason)

    complexity_hint = hints.get("complexity") or meta.get("complexity")
    if isinstance(complexity_hint, str) and complexity_hint:
        complexity = _choice(complexity_hint, COMPLEXITIES, "complexity")
        reasons.append(f"complexity {complexity} (given by the caller)")
    else:
        complexity, why = _complexity(kind, prose_low, set(words), code_lines, files, tokens)
        reasons.append(why)

    scenario_hint = hints.get("scenario") or meta.get("scenario")
    scenario = _choice(scenario_hint, SCENARIOS, "scenario") if isinstance(scenario_hint, str) else None
    if scenario:
        reasons.append(f"Claude Code scenario {scenario}")
    if needs_tools:
        reasons.append(f"needs tools ({len(req.tools)} offered)")
    if needs_json:
        reasons.append("needs JSON output")
    out = int(_OUT_BASE.get(kind, 600) * _OUT_FACTOR[complexity])
    if kind in ("refactor", "test_generation", "review"):
        out += 12 * min(code_lines, 2000)
    if req.max_tokens:
        out = min(out, req.max_tokens)
    return TaskProfile(
        kind=kind, complexity=complexity, locality=locality, needs_tools=needs_tools, has_images=has_images,
        needs_json=needs_json, estimated_tokens=tokens, expected_output_tokens=out, code_lines=code_lines,
        files=files, scenario=scenario, model=model, reasons=tuple(reasons),
    )  # fmt: skip


def _pick_kind(scores: dict[str, float], code_lines: int, marker: str | None) -> tuple[str, str]:
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


__all__ = [
    "CODE_KINDS", "COMPLEXITIES", "KINDS", "SCENARIOS", "Complexity", "Kind", "Locality", "Scenario",
    "TaskProfile", "classify", "normalize_kind",
]  # fmt: skip
