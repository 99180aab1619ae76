"""A task: a chat request plus what the caller knows about it (kind, what to check the answer against)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from offload.types import ChatRequest


class VerifySpec(BaseModel):
    """What the answer must satisfy. Empty = only the checks the cascade infers from the request."""

    model_config = ConfigDict(extra="forbid")

    #: The answer must be JSON (valid against this schema when given).
    json_schema: dict[str, Any] | None = None
    json_only: bool = False
    #: The answer must hold Python code defining these names (functions / classes).
    names: list[str] = Field(default_factory=list)
    #: Python test code (pytest-style ``test_*`` functions or plain asserts) run against the answer's code.
    tests: str | None = None
    #: Check examples found in the task text (doctests, ``f(x) == y`` ...). On by default for code tasks.
    examples: bool = True
    #: A shell command run in the sandbox with the answer's code written to ``solution.py``; exit 0 passes.
    command: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)


class Task(BaseModel):
    """What the router and the cascade work on."""

    model_config = ConfigDict(extra="forbid")

    request: ChatRequest
    #: Caller's kind hint (wins over classification), e.g. "code_generation", "fixtures".
    kind: str | None = None
    verify: VerifySpec = Field(default_factory=VerifySpec)
    #: Text the examples are taken from (defaults to the last user message).
    source_text: str | None = None
    #: Routing hints: headers ``x-offload-*`` lowercased without the prefix, e.g. {"kind": "review"}.
    hints: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_prompt(cls, prompt: str, **kw: Any) -> Task:
        req_kw = {k: kw.pop(k) for k in list(kw) if k in ChatRequest.model_fields}
        return cls(request=ChatRequest.from_prompt(prompt, **req_kw), **kw)
