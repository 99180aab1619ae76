"""The builder: task loading errors, verification (parse, placeholders, loc_max, tests, examples), repair,
escalation, failure without output, diff and apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offload.errors import InvalidRequest, NoRouteAvailable
from offload.workers.builder import apply_suggestion, build, load_task, unified_diff
from offload.workers.builder_checks import changed_loc, placeholder_problem
from tests.workers.conftest import Rig

ORIGINAL = '"""Text helpers."""\n\n\ndef shout(text):\n    return text.upper() + "!"\n'
GOOD_CODE = ORIGINAL + "\n\ndef double(n):\n    return n * 2\n"
GOOD_TESTS = "def test_double():\n    assert double(3) == 6\n    assert double(0) == 0\n"


def answer(code: str = GOOD_CODE, tests: str = GOOD_TESTS, path: str = "textutil.py") -> str:
    return json.dumps({"file_path": path, "suggested_code": code, "explanation": "adds double",
                       "tests": tests, "verification": "the tests call double"})  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "textutil.py").write_text(ORIGINAL)
    (root / "task.json").write_text(json.dumps({
        "task_id": "add-double", "objective": "Add double(n) to textutil.py returning n times two.",
        "files": ["textutil.py"], "acceptance": ["double(3) == 6"], "constraints": {"loc_max": 10},
    }))  # fmt: skip
    return root


# -- bad input ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"task_id": "x", "objective": "y",', "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"task_id": "x"}', "objective: Field required"),
        ('{"task_id": "x", "objective": "y", "colour": 1}', "colour: unknown key"),
        ('{"task_id": "x", "objective": "y", "constraints": {"loc_max": 0}}', "loc_max"),
        ('{"task_id": "x", "objective": "y", "constraints": {"pack": "rust"}}', "unknown pack 'rust'"),
        ('{"task_id": "x", "objective": "y", "files": ["missing.py"]}', "does not exist"),
        ('{"task_id": "x", "objective": "y", "files": ["../etc/passwd"]}', "not a relative path inside"),
        ('{"task_id": "a b", "objective": "y"}', "task_id"),
    ],
)
def test_bad_task_files_are_clear_errors(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "task.json").write_text(content)
    with pytest.raises(InvalidRequest) as err:
        load_task(tmp_path / "task.json", tmp_path)
    assert fragment in str(err.value)


def test_missing_task_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="does not exist"):
        load_task(tmp_path / "nope.json", tmp_path)


# -- pure checks ----------------------------------------------------------------------------------------------
def test_placeholders_are_recognised() -> None:
    assert placeholder_problem("def f(x):\n    pass\n")
    assert placeholder_problem("def f(x):\n    '''doc'''\n    ...\n")
    assert placeholder_problem("def f(x):\n    raise NotImplementedError\n")
    assert placeholder_problem("def f(x):\n    return 1  # TODO: real logic\n")
    assert placeholder_problem("# your code here\n")
    assert placeholder_problem("def f(x):\n    return x + 1\n") is None
    abstract = "from abc import abstractmethod\nclass A:\n    @abstractmethod\n    def f(self):\n        ...\n"
    assert placeholder_problem(abstract) is None


def test_changed_loc_counts_code_lines_not_blanks_or_comments() -> None:
    assert changed_loc(ORIGINAL, GOOD_CODE) == 2
    assert changed_loc("a = 1\n", "a = 2\n") == 1
    assert changed_loc("", "# comment\n\nx = 1\n") == 1


# -- the worker -----------------------------------------------------------------------------------------------
async def test_verified_suggestion_and_diff(rig: Rig, project: Path) -> None:
    rig.script(small=[answer()])
    task = load_task(project / "task.json", project)
    result = await build(rig.engine, task)
    gen = result.generation
    assert gen.response.verdict == "verified" and gen.response.model == "small"
    assert result.suggestion.file_path == "textutil.py"
    assert "+def double(n):" in result.diff and result.diff.startswith("--- a/textutil.py\n+++ b/textutil.py")
    assert gen.provenance is not None and gen.provenance.id == gen.journal_id
    request = rig.small.requests[0]
    schema = request.response_format.json_schema
    assert request.response_format.type == "json_schema" and schema is not None
    assert schema["properties"]["file_path"]["enum"] == ["textutil.py"]  # the schema constrains the target file
    path = apply_suggestion(result)
    assert path.read_text() == GOOD_CODE


async def test_near_json_is_repaired(rig: Rig, project: Path) -> None:
    fenced = "Here you go:\n```json\n" + answer()[:-1] + ",}\n```\nHope this helps!"
    rig.script(small=[fenced])
    result = await build(rig.engine, load_task(project / "task.json", project))
    assert result.generation.response.verdict == "verified"
    assert len(rig.small.requests) == 1


async def test_invalid_output_is_repaired_with_feedback(rig: Rig, project: Path) -> None:
    broken_tests = "def test_double():\n    assert double(3) == 7\n"
    rig.script(small=[answer(tests=broken_tests), answer()])
    result = await build(rig.engine, load_task(project / "task.json", project))
    assert result.generation.response.verdict == "verified"
    repair = rig.small.requests[1].messages[-1].text_content
    assert "did not pass the checks" in repair and "assert double(3) == 7" in repair
    assert [a.status for a in result.generation.response.attempts] == ["rejected", "ok"]


async def test_placeholder_escalates_to_the_bigger_model(rig: Rig, project: Path) -> None:
    stub = ORIGINAL + "\n\ndef double(n):\n    # TODO: implement\n    pass\n"
    rig.script(small=[answer(code=stub), "not json at all"], big=[answer()])
    result = await build(rig.engine, load_task(project / "task.json", project))
    resp = result.generation.response
    assert resp.verdict == "verified" and resp.model == "big"
    assert "placeholder" in resp.attempts[0].detail
    assert resp.attempts[1].status == "rejected"


async def test_stated_examples_catch_wrong_code_with_weak_tests(rig: Rig, project: Path) -> None:
    wrong = ORIGINAL + "\n\ndef double(n):\n    return n + 2\n"
    weak = "def test_exists():\n    assert callable(double)\n"
    rig.script(small=[answer(code=wrong, tests=weak), answer(code=wrong, tests=weak)], big=[answer()])
    result = await build(rig.engine, load_task(project / "task.json", project))
    assert result.generation.response.model == "big"
    assert "double(3)" in result.generation.response.attempts[0].detail


async def test_loc_max_and_tests_that_assert_nothing_are_rejected(rig: Rig, project: Path) -> None:
    long_code = (
        ORIGINAL + "\n\ndef double(n):\n" + "".join(f"    x{i} = {i}\n" for i in range(20)) + "    return n * 2\n"
    )
    rig.script(small=[answer(code=long_code), answer(tests="print('hi')\n")], big=[answer()])
    result = await build(rig.engine, load_task(project / "task.json", project))
    details = [a.detail for a in result.generation.response.attempts]
    assert "more than loc_max = 10" in details[0]
    assert "assert nothing" in details[1]


async def test_nothing_passes_raises_and_writes_nothing(rig: Rig, project: Path) -> None:
    stub = ORIGINAL + "\n\ndef double(n):\n    raise NotImplementedError\n"
    rig.script(small=[answer(code=stub)] * 2, big=[answer(code="def double(n) return")] * 2)
    with pytest.raises(NoRouteAvailable) as err:
        await build(rig.engine, load_task(project / "task.json", project))
    assert len(err.value.attempts) == 4 and all(a.status == "rejected" for a in err.value.attempts)
    assert (project / "textutil.py").read_text() == ORIGINAL
    assert sorted(p.name for p in project.iterdir()) == ["task.json", "textutil.py"]


async def test_apply_refuses_when_the_file_changed(rig: Rig, project: Path) -> None:
    rig.script(small=[answer()])
    result = await build(rig.engine, load_task(project / "task.json", project))
    (project / "textutil.py").write_text(ORIGINAL + "# edited meanwhile\n")
    with pytest.raises(InvalidRequest, match="changed since"):
        apply_suggestion(result)
    assert (project / "textutil.py").read_text().endswith("# edited meanwhile\n")


def test_unified_diff_for_a_new_file_applies_with_patch(tmp_path: Path) -> None:
    diff = unified_diff("pkg/new.py", None, "x = 1\n")
    assert diff.splitlines()[:3] == ["--- /dev/null", "+++ b/pkg/new.py", "@@ -0,0 +1 @@"]


async def test_context_priming_keeps_the_relevant_notes(rig: Rig, project: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "conventions.md").write_text("# Naming\n\nHelpers that double numbers must be called double.\n")
    (notes / "unrelated.md").write_text("# Deploy\n\n" + "kubernetes helm chart ingress\n" * 4000)
    rig.script(small=[answer()])
    await build(rig.engine, load_task(project / "task.json", project), context=[notes])
    prompt = rig.small.requests[0].messages[0].text_content
    assert "Helpers that double numbers" in prompt
    assert 0 < prompt.count("kubernetes") < 4000  # trimmed to the window, the relevant note kept
