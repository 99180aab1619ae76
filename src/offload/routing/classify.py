"""Classification: a task in, a :class:`TaskProfile` out — pure, deterministic, explainable and fast.

It runs on every gateway request, so it does no I/O and no heavy pattern matching: the prose of the last user
message is split into words, each word is reduced to a crude stem, and the 1-, 2- and 3-word sequences are
looked up in one precompiled table of weighted phrases per kind. Words in the opening of the request (the
instruction) weigh more. Complexity comes from lines of code, files mentioned, context tokens and wording.

Explicit hints always win: ``Task.kind``, ``Task.hints`` (the ``x-offload-*`` headers: ``kind``,
``complexity``, ``locality``, ``scenario``), ``request.metadata`` and the model names ``offload/auto``,
``offload/local``, ``offload/cloud`` and ``offload/<kind>``.

The profile and its vocabulary live in :mod:`offload.routing.classify_profile`, the phrase table and word lists
in :mod:`offload.routing.classify_tables`, the scoring in :mod:`offload.routing.classify_scoring`; the public
names are re-exported here.
"""

from __future__ import annotations

import orjson

from offload.errors import InvalidRequest
from offload.routing.classify_profile import (
    CODE_KINDS,
    COMPLEXITIES,
    KIND_ALIASES,
    KINDS,
    SCENARIOS,
    Complexity,
    Kind,
    Locality,
    Scenario,
    TaskProfile,
    normalize_kind,
)
from offload.routing.classify_scoring import is_stub, pick_kind, score_complexity, score_kinds, split_code
from offload.routing.classify_tables import (
    DEBUG_MARKERS,
    FILE,
    N_FILES,
    OUT_BASE,
    OUT_FACTOR,
    PROSE_DEBUG_MARKERS,
    PROSE_HEAD,
    PROSE_TAIL,
    WORD,
    stem,
)
from offload.routing.task import Task
from offload.types import ChatRequest, estimate_tokens

__all__ = [
    "CODE_KINDS", "COMPLEXITIES", "KIND_ALIASES", "KINDS", "SCENARIOS", "Complexity", "Kind", "Locality", "Scenario",
    "TaskProfile", "classify", "normalize_kind",
]  # fmt: skip

_AUTO_MODELS = frozenset({"", "auto", "default", "offload", "offload/auto"})


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    v = value.strip().lower()
    if v not in allowed:
        raise InvalidRequest(f"unknown {what} {value!r}", hint=f"use one of: {', '.join(allowed)}")
    return v


def _last_user_index(request: ChatRequest) -> int:
    """Index of the last user message with text (the instruction), else the last message; -1 when empty."""
    for i in range(len(request.messages) - 1, -1, -1):
        m = request.messages[i]
        if m.role == "user" and m.text_content.strip():
            return i
    return len(request.messages) - 1


def _tool_tokens(request: ChatRequest) -> int:
    if not request.tools:
        return 0
    return sum(estimate_tokens(t.name + t.description + orjson.dumps(t.parameters).decode()) for t in request.tools)


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
    prose, code_lines = split_code(text)
    for i, m in enumerate(req.messages):
        if i != last and m.role in ("user", "tool"):
            code_lines += split_code(m.text_content)[1]
    prose_cut = prose if len(prose) <= PROSE_HEAD + PROSE_TAIL else prose[:PROSE_HEAD] + "\n" + prose[-PROSE_TAIL:]
    prose_low = prose_cut.lower()
    words = [stem(w) for w in WORD.findall(prose_low)]
    files = len(set(FILE.findall(prose_cut)))
    named = [int(n) for n in N_FILES.findall(prose_low)]
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
        scores = score_kinds(words)
        low_text = text[:4000].lower()
        marker = next((m for m in DEBUG_MARKERS if m in low_text), None) or next(
            (m for m in PROSE_DEBUG_MARKERS if m in prose_low), None
        )
        if marker:
            scores["debug"] = scores.get("debug", 0.0) + 4.0
        if is_stub(text):
            scores["code_generation"] = scores.get("code_generation", 0.0) + 5.0
            reasons.append("a function stub to complete (signature and docstring, no body)")
        if needs_json and "mock_api" not in scores and "fixtures" not in scores:
            scores["fixtures"] = scores.get("fixtures", 0.0) + 0.5
        kind, reason = pick_kind(scores, code_lines, marker)
        reasons.append(reason)

    complexity_hint = hints.get("complexity") or meta.get("complexity")
    if isinstance(complexity_hint, str) and complexity_hint:
        complexity = _choice(complexity_hint, COMPLEXITIES, "complexity")
        reasons.append(f"complexity {complexity} (given by the caller)")
    else:
        complexity, why = score_complexity(kind, prose_low, set(words), code_lines, files, tokens)
        reasons.append(why)

    scenario_hint = hints.get("scenario") or meta.get("scenario")
    scenario = _choice(scenario_hint, SCENARIOS, "scenario") if isinstance(scenario_hint, str) else None
    if scenario:
        reasons.append(f"Claude Code scenario {scenario}")
    if needs_tools:
        reasons.append(f"needs tools ({len(req.tools)} offered)")
    if needs_json:
        reasons.append("needs JSON output")
    out = int(OUT_BASE.get(kind, 600) * OUT_FACTOR[complexity])
    if kind in ("refactor", "test_generation", "review"):
        out += 12 * min(code_lines, 2000)
    if req.max_tokens:
        out = min(out, req.max_tokens)
    return TaskProfile(
        kind=kind, complexity=complexity, locality=locality, needs_tools=needs_tools, has_images=has_images,
        needs_json=needs_json, estimated_tokens=tokens, expected_output_tokens=out, code_lines=code_lines,
        files=files, scenario=scenario, model=model, reasons=tuple(reasons),
    )  # fmt: skip
