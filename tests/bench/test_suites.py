"""Suites and profiles: the built-in ones load, the documented formats parse, mistakes get clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.bench.humaneval import humaneval_suite
from offload.bench.profiles import bundled_profile_names, load_profile, parse_profile
from offload.bench.suites import load_suite, load_suite_dir
from offload.errors import ConfigError

from .helpers import write_task


def test_humaneval_suite_has_164_task_repos():
    suite = humaneval_suite()
    assert len(suite.tasks) == 164
    first = suite.tasks[0]
    assert first.id == "HumanEval-0" and suite.tasks[-1].id == "HumanEval-163"
    assert list(first.files) == ["solution.py"] and "def has_close_elements" in first.files["solution.py"]
    [(name, test)] = first.hidden_tests.items()
    assert name == "test_solution.py"
    assert "from solution import has_close_elements" in test and "check(has_close_elements)" in test
    assert first.entry_point == "has_close_elements" and first.keep_imports
    assert first.solution["solution.py"].startswith(first.files["solution.py"])


def test_repo_tasks_suite():
    suite = load_suite("repo-tasks")
    assert len(suite.tasks) >= 15
    for task in suite.tasks:
        assert task.spec.strip() and task.hidden_tests and task.solution, task.id
        assert len(task.files) >= 2, f"{task.id} should be a multi-file repository"
    assert any(t.setup for t in suite.tasks), "one task demonstrates setup.sh"


def test_custom_suite_directory(tmp_path: Path):
    root = tmp_path / "mine"
    write_task(root, "b-task", toml='title = "B"\ntags = ["x"]\ntimeout_s = 5\ntest_command = "pytest -q"\n')
    write_task(root, "a-task", solution={"calc.py": "def add(a, b):\n    return a + b\n"})
    (root / "suite.toml").write_text('name = "my-suite"\ndescription = "demo"\n')
    (root / "notes").mkdir()  # a directory without spec.md is not a task
    suite = load_suite(root)
    assert suite.name == "my-suite" and [t.id for t in suite.tasks] == ["a-task", "b-task"]
    b = suite.tasks[1]
    assert (b.title, b.tags, b.timeout_s, b.test_command) == ("B", ("x",), 5.0, "pytest -q")
    assert suite.tasks[0].solution == {"calc.py": "def add(a, b):\n    return a + b\n"}
    assert suite.limited(1).tasks == suite.tasks[:1]
    assert [t.id for t in suite.limited(None, ("b-task",)).tasks] == ["b-task"]


def test_suite_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="no suite named"):
        load_suite("no-such-suite")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no tasks"):
        load_suite_dir(tmp_path / "empty")
    d = write_task(tmp_path / "s", "t", toml="colour = 1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_suite_dir(tmp_path / "s")
    (d / "task.toml").unlink()
    for f in (d / "tests").iterdir():
        f.unlink()
    with pytest.raises(ConfigError, match="no hidden tests"):
        load_suite_dir(tmp_path / "s")


def test_bundled_profiles_parse():
    names = bundled_profile_names()
    for expected in ("embedded", "devstral-24b", "qwen3-coder-30b", "gpt-oss-20b", "glm-4.7-flash",
                     "qwen2.5-coder-7b", "qwen2.5-coder-32b", "hybrid-gpt-oss-plans-qwen3-coder-builds",
                     "hybrid-qwen3-coder-plans-gpt-oss-builds"):  # fmt: skip
        assert expected in names
    hybrids = [load_profile(n) for n in names if n.startswith("hybrid-")]
    assert len(hybrids) == 2 and all(p.kind == "hybrid" for p in hybrids)
    orders = {(p.planner.model, p.builder.model) for p in hybrids if p.planner}
    assert orders == {("gpt-oss:20b", "qwen3-coder:30b"), ("qwen3-coder:30b", "gpt-oss:20b")}
    qwen = load_profile("qwen3-coder-30b")
    assert qwen.kind == "single" and qwen.builder.context == 32768 and qwen.backends["ollama"].kind == "ollama"
    assert load_profile("embedded").builder.backend == "embedded"


def test_profile_file_and_errors(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text('[builder]\nbackend = "x"\nmodel = "m"\n[budget]\nmax_iterations = 5\n')
    p = load_profile(path)
    assert p.name == "mine" and p.budget.max_iterations == 5 and p.budget.max_failures == 3
    with pytest.raises(ConfigError, match="no profile named"):
        load_profile("nope")
    with pytest.raises(ConfigError) as info:
        parse_profile({"name": "x", "builder": {"model": "m", "temprature": 1}}, "f.toml")
    assert info.value.key == "builder.temprature" and "unknown key" in str(info.value)
    with pytest.raises(ConfigError):
        parse_profile({"name": "x", "builder": {"model": "m"}, "budget": {"max_iterations": 0}})
