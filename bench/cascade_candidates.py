"""How ``cascade_humaneval.py`` asks the local model for HumanEval candidates.

The settings (which candidates, and whether a repair round follows), the chat/stub prompts, a generator that
remembers every answer in a JSONL cache, and :func:`program_for`, which turns an answer into a runnable program.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offload.backends.base import Backend
from offload.routing.codeblocks import defined_names, extract_python
from offload.routing.probes import context_code
from offload.types import ChatRequest, Message

CHAT_TEMPLATE = (
    "Complete the following Python function. Answer with the whole function (and the imports it needs) in one "
    "```python code block.\n\n```python\n{prompt}```"
)
REPAIR_TEMPLATE = (
    "That code is wrong. {feedback}\nFix it and answer with the whole corrected function in one ```python block."
)
STOPS = ["\n```\n", "\nif __name__", "\nprint(", "\nassert ", "\n# Example", "\n# Test"]


@dataclass(frozen=True)
class Sample:
    """How one candidate is asked for."""

    fmt: str  # "chat" or "stub"
    temperature: float
    seed: int


@dataclass(frozen=True)
class Setting:
    """A way of using the local model: which candidates, and whether a repair round follows."""

    name: str
    samples: tuple[Sample, ...]
    repair: bool = False


GREEDY_CHAT = Sample("chat", 0.0, 0)
GREEDY_STUB = Sample("stub", 0.0, 0)
SAMPLED = tuple(Sample("chat", 0.7, seed) for seed in range(1, 7))
SETTINGS = {
    s.name: s
    for s in (
        Setting("greedy-chat", (GREEDY_CHAT,)),
        Setting("greedy-stub", (GREEDY_STUB,)),
        Setting("repair", (GREEDY_CHAT,), repair=True),
        Setting("greedy-both", (GREEDY_CHAT, GREEDY_STUB)),
        Setting("greedy-both+repair", (GREEDY_CHAT, GREEDY_STUB), repair=True),
        Setting("sample3", SAMPLED[:3]),
        Setting("sample6", SAMPLED),
        Setting("mixed8", (GREEDY_CHAT, GREEDY_STUB, *SAMPLED)),
        Setting("mixed8+repair", (GREEDY_CHAT, GREEDY_STUB, *SAMPLED), repair=True),
    )
}
DEFAULT_SETTINGS = "greedy-chat,greedy-stub,repair,greedy-both+repair,sample3,sample6,mixed8,mixed8+repair"


class Generator:
    """Asks the backend for candidates; remembers every answer (and its generation time) in a JSONL cache."""

    def __init__(self, backend: Backend, *, model: str, max_tokens: int, cache: Path | None = None) -> None:
        self.backend, self.model, self.max_tokens, self.cache = backend, model, max_tokens, cache
        self.memo: dict[str, dict[str, Any]] = {}
        if cache is not None and cache.exists():
            for line in cache.read_text().splitlines():
                row = json.loads(line)
                self.memo[row["key"]] = row

    def request(self, problem: dict[str, Any], sample: Sample, history: list[tuple[str, str]]) -> ChatRequest:
        first = CHAT_TEMPLATE.format(prompt=problem["prompt"]) if sample.fmt == "chat" else problem["prompt"]
        messages = [Message.text("user", first)]
        for reply, follow_up in history:
            messages += [Message.text("assistant", reply), Message.text("user", follow_up)]
        return ChatRequest(
            model=self.model, messages=messages, max_tokens=self.max_tokens, stop=list(STOPS),
            temperature=sample.temperature, seed=sample.seed if sample.temperature > 0 else None,
            top_p=0.95 if sample.temperature > 0 else None,
        )  # fmt: skip

    async def answer(
        self, problem: dict[str, Any], sample: Sample, history: list[tuple[str, str]] | None = None
    ) -> tuple[str, float]:
        history = history or []
        key = json.dumps([problem["task_id"], sample.fmt, sample.temperature, sample.seed, self.max_tokens,
                          self.model, hashlib.sha1(json.dumps(history).encode()).hexdigest()[:12]])  # fmt: skip
        if key not in self.memo:
            started = time.perf_counter()
            response = await self.backend.chat(self.request(problem, sample, history))
            row = {"key": key, "text": response.content, "seconds": time.perf_counter() - started}
            self.memo[key] = row
            if self.cache is not None:
                with self.cache.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
        return self.memo[key]["text"], self.memo[key]["seconds"]


def program_for(answer: str, problem: dict[str, Any]) -> str | None:
    """The runnable program for an answer: the task's own helpers and imports, then the answer's function;
    or — when the answer only continues the stub — the stub followed by that body."""
    entry, prompt = problem["entry_point"], problem["prompt"]
    code = extract_python(answer, [entry])
    if code is not None and entry in defined_names(code):
        return context_code(prompt, entry) + "\n" + code
    body = code if code is not None else answer
    if body and body[:1] in (" ", "\t"):
        candidate = prompt + body
        if entry in defined_names(candidate):
            return candidate
    return None
