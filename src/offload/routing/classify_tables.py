"""The data classification scores with: the stemmer, the weighted phrase table per kind, and the word lists,
markers, patterns and per-kind numbers that :mod:`offload.routing.classify_scoring` and
:func:`offload.routing.classify.classify` look up. Phrases are written naturally and stemmed once, at import.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "CODE_STARTS", "COMPLEX_PHRASES", "COMPLEX_WORDS", "DEBUG_MARKERS", "FILE", "FILLER", "FIRST_VERB", "N_FILES",
    "N_ITEMS", "N_LINES", "OUT_BASE", "OUT_FACTOR", "PHRASES", "PROSE_DEBUG_MARKERS", "PROSE_HEAD", "PROSE_TAIL",
    "SCAN_CAP", "SIMPLE_WORDS", "STUB_BODY", "TABLE", "WORD", "stem",
]  # fmt: skip


@lru_cache(maxsize=16384)
def stem(w: str) -> str:
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


WORD = re.compile(r"[a-z0-9_]+(?:'[a-z]+)?")

# kind -> {phrase: weight}. Phrases are written naturally and stemmed once at import.
PHRASES: dict[str, dict[str, float]] = {
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
    for kind, phrases in PHRASES.items():
        for phrase, weight in phrases.items():
            key = tuple(stem(w) for w in WORD.findall(phrase))
            if key:
                table.setdefault(key, []).append((kind, float(weight)))
    return {k: tuple(v) for k, v in table.items()}


TABLE = _build_table()
COMPLEX_WORDS = frozenset(stem(w) for w in (
    "entire", "whole", "across", "production", "scalable", "distributed", "microservices", "concurrent", "codebase",
    "system", "architecture", "pipeline", "framework", "complete", "comprehensive", "robust", "enterprise",
    "orchestration", "integration", "billions", "millions",
))  # fmt: skip
COMPLEX_PHRASES = ("real-time", "realtime", "multi-tenant", "end-to-end", "full-stack", "under load",
                    "at scale", "every file", "all modules", "conflict resolution", "offline support")  # fmt: skip
#: An instruction that opens with one of these verbs leans to that kind.
FIRST_VERB = {stem(w): (k, b) for ws, k, b in (
    ("implement", "code_generation", 2.0),
    ("refactor turn rename simplify extract convert migrate clean restructure tidy modernize", "refactor", 2.0),
    ("review critique audit", "review", 2.0),
    ("explain describe summarize document", "explain", 2.0),
    ("fix debug", "debug", 2.0),
    ("design propose architect", "architecture", 1.5),
) for w in ws.split()}  # fmt: skip
SIMPLE_WORDS = frozenset(stem(w) for w in (
    "simple", "small", "quick", "tiny", "liner", "short", "single", "basic", "trivial", "little", "minimal",
    "brief", "easy",
))  # fmt: skip
#: Error output anywhere in the message (even inside a code block) means a debugging task.
DEBUG_MARKERS = ("traceback (most recent call last)", "exception in thread", "panic:", "segmentation fault",
                  "uncaught ", "stack trace")  # fmt: skip
#: Weaker markers, believed only outside code (``except OSError:`` is not an error message).
PROSE_DEBUG_MARKERS = ("error:", "\n    at ")
CODE_STARTS = ("def ", "class ", "import ", "from ", "return ", "function ", "const ", "let ", "var ", "public ",
                "private ", "#include", "@", "}", "if ", "for ", "while ", "fn ", "func ", "async ", "export ")  # fmt: skip
FILE = re.compile(
    r"(?<![\w/.-])[\w./-]*\w\.(?:py|pyi|js|mjs|ts|tsx|jsx|go|rs|java|kt|rb|php|c|h|cc|cpp|hpp|cs|swift|scala|sql"
    r"|sh|ya?ml|toml|json|md|html|css|scss|vue|svelte|ipynb|tf|proto|gradle|lock)\b"
)
N_FILES = re.compile(r"\b(\d{1,4})\s+(?:files|modules|services|repos|packages)\b")
N_LINES = re.compile(r"\b(\d{2,6})[- ]?(?:lines?|loc)\b")
N_ITEMS = re.compile(r"\b(\d{1,7})(k?)\s+(?:[a-z-]+\s+)?[a-z]+s\b")
OUT_BASE = {"chat": 300, "explain": 600, "review": 700, "debug": 700, "refactor": 900, "code_generation": 900,
             "test_generation": 1200, "fixtures": 1500, "mock_api": 800, "architecture": 1500, "vision": 400,
             "embedding": 0}  # fmt: skip
OUT_FACTOR = {"simple": 1.0, "moderate": 1.5, "complex": 3.0}
STUB_BODY = frozenset({"pass", "...", "}", "ts", "js", "python", "py"})
FILLER = frozenset({"pleas", "can", "could", "you", "now", "also", "just", "then", "we", "i", "let'", "ok", "hey"})
#: Prose scored: its first and last characters when longer; text scanned for code: at most ``SCAN_CAP``.
PROSE_HEAD, PROSE_TAIL, SCAN_CAP = 1500, 600, 200_000
