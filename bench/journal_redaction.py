"""Journal redaction benchmark: what preparing one request's row costs, the journal's way against the reference.

    .venv/bin/python bench/journal_redaction.py [--repeat 200]

Documents: a small chat request (the gateway benchmark's), and a Claude Code-sized request (~85 KB: a 40 KB
system prompt, 24 tools, a conversation with tool results — text taken from the standard library's sources, so
it mentions "token", "api" and the like, as real prompts do), once clean and once holding a password.
For each, side by side in one run:
  ungated     every redaction pattern run over every string, then json.dumps: the naive way
  journal     OpBuilder.dumps, as the journal writes a row: one look at a small document's JSON; a big one
              walked, its strings redacted through the redactor's memory — "new" with every string changed
              before each call (nothing remembered), "seen" with the same document again, as Claude Code
              resends its system prompt, tools and conversation each turn
Both write the same JSON (checked before timing).
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from offload.redact import _PATTERNS, MASK, Redactor  # noqa: E402
from offload.store.db import current_owner  # noqa: E402
from offload.store.ops import OpBuilder  # noqa: E402

KEY = "sk-bench-0123456789abcdef0123456789abcdef"


def small_request() -> dict[str, Any]:
    return {"model": "bench", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}


def claude_code_request(secret: bool) -> dict[str, Any]:
    src = inspect.getsource(argparse) + inspect.getsource(logging)
    tools = [
        {
            "name": f"Tool{i}",
            "description": src[i * 1500 : (i + 1) * 1500],
            "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
        }
        for i in range(24)
    ]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing test in tests/test_x.py."}]
    for k in range(6):
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{k}", "name": "Tool1"}]})
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "content": src[60000 + k * 2000 :][:2000]}]}
        )
    if secret:
        messages.append({"role": "user", "content": "the staging password: hunter22hunter22"})
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "system": src[:40000],
        "tools": tools,
        "messages": messages,
    }


def ungated(redactor: Redactor, value: Any) -> Any:
    """Redactor.obj's rules with every pattern run over every string (no gates, no memory)."""
    if isinstance(value, str):
        for secret in (KEY,):
            value = value.replace(secret, MASK)
        for pattern in _PATTERNS[:3]:
            value = pattern.sub(MASK, value)
        return _PATTERNS[3].sub(lambda m: m.group(1) + MASK, value)
    if isinstance(value, dict):
        masked = redactor.obj({k: "x" for k, v in value.items() if isinstance(v, str)})
        return {k: MASK if masked.get(k) == MASK else ungated(redactor, v) for k, v in value.items()}
    if isinstance(value, list):
        return [ungated(redactor, v) for v in value]
    return value


def changed(value: Any, mark: str) -> Any:
    """``value`` with ``mark`` appended to every string longer than 40 characters (a document never seen)."""
    if isinstance(value, str):
        return value + mark if len(value) > 40 else value
    if isinstance(value, dict):
        return {k: changed(v, mark) for k, v in value.items()}
    if isinstance(value, list):
        return [changed(v, mark) for v in value]
    return value


def per_call_us(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=100, help="calls per measurement (best of three)")
    a = ap.parse_args()
    docs = {
        "small request": small_request(),
        "Claude Code size": claude_code_request(False),
        "  + a password": claude_code_request(True),
    }
    print(
        f"{'document':18} {'bytes':>7} {'ungated µs':>11} {'journal new':>12} {'journal seen':>13} {'new ×':>6} {'seen ×':>7}"
    )
    for name, doc in docs.items():
        redactor = Redactor([KEY])
        ops = OpBuilder(redactor, current_owner())
        assert json.loads(ops.dumps(doc) or "null") == json.loads(json.dumps(ungated(redactor, doc))), name
        fresh = [changed(doc, f" #{i}") for i in range(3 * a.repeat)]
        docs_left = iter(fresh)
        base_us = per_call_us(lambda doc=doc, r=redactor: json.dumps(ungated(r, doc)), max(1, a.repeat // 10))
        new_us = per_call_us(lambda ops=ops, left=docs_left: ops.dumps(next(left)), a.repeat)
        seen_us = per_call_us(lambda ops=ops, doc=doc: ops.dumps(doc), a.repeat)
        size = len(json.dumps(doc))
        print(
            f"{name:18} {size:7d} {base_us:11.0f} {new_us:12.0f} {seen_us:13.0f} "
            f"{base_us / new_us:5.1f}× {base_us / seen_us:6.1f}×"
        )


if __name__ == "__main__":
    main()
