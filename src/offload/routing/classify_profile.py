"""What classification produces: the :class:`TaskProfile` and its vocabulary.

The vocabulary is the task kinds, complexities, localities and Claude Code scenarios (as ``Literal`` types and
as tuples), the code kinds, and the kind aliases callers may use (``tests``, ``docs``, ``mock`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from offload.errors import InvalidRequest

__all__ = [
    "CODE_KINDS", "COMPLEXITIES", "KIND_ALIASES", "KINDS", "SCENARIOS", "Complexity", "Kind", "Locality", "Scenario",
    "TaskProfile", "normalize_kind",
]  # fmt: skip

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


def normalize_kind(value: str) -> str:
    """A kind name or alias (``tests``, ``docs``, ``mock`` ...) as a kind; :class:`InvalidRequest` if unknown."""
    v = value.strip().lower().replace("-", "_").replace(" ", "_")
    v = KIND_ALIASES.get(v, v)
    if v not in KINDS:
        raise InvalidRequest(f"unknown task kind {value!r}", hint=f"use one of: {', '.join(KINDS)}")
    return v
