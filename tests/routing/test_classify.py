"""Classification: the labelled set, hints, needs and estimates."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from offload.errors import InvalidRequest
from offload.routing.classify import CODE_KINDS, KINDS, classify, normalize_kind
from offload.routing.task import Task, VerifySpec
from offload.types import ChatRequest, ImagePart, Message, ResponseFormat, TextPart, ToolSpec

DATA = Path(__file__).parent.parent / "data" / "classify_labelled.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def test_labelled_set_is_large_and_covers_every_kind() -> None:
    assert len(ROWS) >= 60
    assert {r["kind"] for r in ROWS} == set(KINDS)
    assert {r["complexity"] for r in ROWS} == {"simple", "moderate", "complex"}


def test_kind_accuracy_on_labelled_set() -> None:
    confusions: Counter[tuple[str, str]] = Counter()
    for row in ROWS:
        got = classify(Task.from_prompt(row["prompt"])).kind
        if got != row["kind"]:
            confusions[(row["kind"], got)] += 1
    accuracy = 1 - sum(confusions.values()) / len(ROWS)
    print(f"kind accuracy {accuracy:.3f} on {len(ROWS)} prompts; confusions (expected -> got): {dict(confusions)}")
    assert accuracy >= 0.90, confusions


def test_complexity_accuracy_on_labelled_set() -> None:
    confusions: Counter[tuple[str, str]] = Counter()
    for row in ROWS:
        got = classify(Task.from_prompt(row["prompt"])).complexity
        if got != row["complexity"]:
            confusions[(row["complexity"], got)] += 1
    accuracy = 1 - sum(confusions.values()) / len(ROWS)
    print(f"complexity accuracy {accuracy:.3f}; confusions (expected -> got): {dict(confusions)}")
    assert accuracy >= 0.80, confusions
    # a simple task is never taken for a complex one, nor the other way round
    assert confusions[("simple", "complex")] == 0
    assert confusions[("complex", "simple")] == 0


def test_profile_is_explained() -> None:
    p = classify(Task.from_prompt("Write pytest tests for parse_date in utils/dates.py"))
    assert p.kind == "test_generation"
    assert any(r.startswith("kind test_generation") for r in p.reasons)
    assert any(r.startswith("complexity") for r in p.reasons)
    assert p.files == 1


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        (Task.from_prompt("hello there", kind="fixtures"), "fixtures"),
        (Task.from_prompt("hello there", hints={"kind": "review"}), "review"),
        (Task.from_prompt("hello there", hints={"kind": "tests"}), "test_generation"),
        (Task.from_prompt("hello there", metadata={"kind": "mock"}), "mock_api"),
        (Task.from_prompt("hello there", model="offload/explain"), "explain"),
    ],
)
def test_explicit_kind_wins(task: Task, kind: str) -> None:
    p = classify(task)
    assert p.kind == kind
    assert any("given by the caller" in r or "from model name" in r for r in p.reasons)


def test_unknown_kind_hint_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequest) as err:
        classify(Task.from_prompt("x", hints={"kind": "poetry"}))
    assert "code_generation" in (err.value.hint or "")
    with pytest.raises(InvalidRequest):
        classify(Task.from_prompt("x", hints={"complexity": "huge"}))


def test_complexity_hint_wins() -> None:
    p = classify(Task.from_prompt("Design a distributed system at scale", hints={"complexity": "simple"}))
    assert p.complexity == "simple"


@pytest.mark.parametrize(
    ("model", "locality", "concrete"),
    [
        ("auto", "any", None),
        ("offload/auto", "any", None),
        ("offload/local", "local", None),
        ("offload/cloud", "cloud", None),
        ("qwen2.5-coder:7b", "any", "qwen2.5-coder:7b"),
    ],
)
def test_model_names(model: str, locality: str, concrete: str | None) -> None:
    p = classify(Task.from_prompt("Write a function that adds two numbers", model=model))
    assert p.locality == locality
    assert p.model == concrete


def test_locality_and_scenario_hints() -> None:
    p = classify(Task.from_prompt("hi", hints={"locality": "local", "scenario": "background"}))
    assert (p.locality, p.scenario) == ("local", "background")


def test_needs_tools_images_and_json() -> None:
    req = ChatRequest(
        messages=[Message(role="user", content=[TextPart(text="what is on this?"), ImagePart(data="aGk=")])],
        tools=[ToolSpec(name="read_file", description="read a file")],
        response_format=ResponseFormat(type="json"),
    )
    p = classify(Task(request=req))
    assert p.kind == "vision" and p.has_images and p.needs_tools and p.needs_json
    assert p.estimated_tokens > 800  # images count
    no_tools = classify(Task(request=req.model_copy(update={"tool_choice": "none"})))
    assert not no_tools.needs_tools
    schema = classify(Task.from_prompt("list users", verify=VerifySpec(json_schema={"type": "array"})))
    assert schema.needs_json


def test_token_estimates_and_max_tokens_cap() -> None:
    long_prompt = "Explain this code:\n```python\n" + "x = 1\n" * 4000 + "```"
    p = classify(Task.from_prompt(long_prompt))
    assert p.estimated_tokens > 4000
    assert p.code_lines == 4000
    assert p.complexity == "complex"
    capped = classify(Task.from_prompt("Write a function", max_tokens=50))
    assert capped.expected_output_tokens == 50
    assert capped.total_tokens == capped.estimated_tokens + 50


def test_code_in_earlier_turns_counts() -> None:
    code = "```python\n" + "y = 2\n" * 120 + "```"
    req = ChatRequest(
        messages=[Message.text("user", code), Message.text("assistant", "ok"), Message.text("user", "now refactor it")]
    )
    p = classify(Task(request=req))
    assert p.kind == "refactor"
    assert p.code_lines >= 120 and p.complexity == "complex"


def test_kind_aliases_and_code_kinds() -> None:
    assert normalize_kind("Code-Review") == "review"
    assert normalize_kind("docstrings") == "explain"
    assert set(KINDS) >= CODE_KINDS


def test_empty_and_odd_requests_do_not_crash() -> None:
    assert classify(Task(request=ChatRequest(messages=[]))).kind == "chat"
    assert classify(Task.from_prompt("")).kind == "chat"
    assert classify(Task.from_prompt("```\n```")).kind in KINDS
    p = classify(Task.from_prompt("Traceback (most recent call last):\n  File 'x.py'\nKeyError: 'a'"))
    assert p.kind == "debug"


def test_deterministic() -> None:
    prompts = [r["prompt"] for r in ROWS[:20]]
    first = [classify(Task.from_prompt(p)) for p in prompts]
    again = [classify(Task.from_prompt(p)) for p in prompts]
    assert first == again


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [
        ('def add(a, b):\n    """Add two numbers.\n    >>> add(2, 3)\n    5\n    """\n', "code_generation"),
        ("def f(x):\n    pass", "code_generation"),
        ("```python\ndef avg(xs):\n    return sum(xs) / len(xs)\n```", "explain"),
        ("def f(x):\n    try:\n        g(x)\n    except OSError:\n        pass\n", "explain"),
    ],
)
def test_function_stubs_are_code_generation(prompt: str, kind: str) -> None:
    assert classify(Task.from_prompt(prompt)).kind == kind
