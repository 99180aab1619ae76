"""Finding whole-file edits in builder answers."""

from __future__ import annotations

from offload.bench.edits import FileEdit, keep_original_imports, parse_edits, strip_thinking, syntax_errors

FILES = {"pkg/core.py": "x = 1\n", "pkg/util.py": "y = 2\n", "README.md": "# r\n"}


def test_path_line_above_fence():
    answer = "Here you go.\n\npkg/core.py\n```python\nx = 2\n```\n\npkg/util.py\n```python\ny = 3\n```\n"
    assert parse_edits(answer, FILES) == [FileEdit("pkg/core.py", "x = 2\n"), FileEdit("pkg/util.py", "y = 3\n")]


def test_labels_in_markdown_and_info_string_and_comment():
    answer = (
        "### `pkg/core.py`\n```python\nx = 2\n```\n"
        "**File: pkg/util.py**\n\n```python\ny = 3\n```\n"
        "```python title=pkg/new.py\nz = 4\n```\n"
        "```python\n# pkg/other.py\nw = 5\n```\n"
    )
    got = {e.path: e.content for e in parse_edits(answer, FILES)}
    assert got == {"pkg/core.py": "x = 2\n", "pkg/util.py": "y = 3\n", "pkg/new.py": "z = 4\n",
                   "pkg/other.py": "# pkg/other.py\nw = 5\n"}  # fmt: skip


def test_base_name_maps_to_the_one_file_with_that_name():
    answer = "core.py:\n```python\nx = 9\n```\n"
    assert parse_edits(answer, FILES) == [FileEdit("pkg/core.py", "x = 9\n")]


def test_unlabelled_blocks_prose_and_diffs_are_ignored():
    answer = "Run it like this:\n```bash\npython -m pkg\n```\nThen:\n```python\nprint(1)\n```\n"
    assert parse_edits(answer, FILES) == []
    diff = "pkg/core.py\n```diff\n--- a/pkg/core.py\n+++ b/pkg/core.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n```\n"
    assert parse_edits(diff, FILES) == []
    assert parse_edits("I cannot do that.", FILES) == []


def test_paths_that_escape_or_look_like_prose_are_refused():
    answer = "../evil.py\n```python\nx\n```\n/etc/passwd.txt\n```\nroot\n```\nversion 3.x\n```python\nq = 1\n```\n"
    assert parse_edits(answer, FILES) == []
    assert parse_edits(".git/config.py\n```\nx\n```\n", FILES) == []


def test_last_edit_of_a_path_wins():
    answer = "pkg/core.py\n```python\nx = 2\n```\npkg/core.py\n```python\nx = 3\n```\n"
    assert parse_edits(answer, FILES) == [FileEdit("pkg/core.py", "x = 3\n")]


def test_one_file_repository_takes_the_code_whatever_its_label():
    files = {"solution.py": "def f(x):\n    '''doc'''\n"}
    answer = "```python\ndef helper():\n    pass\n\ndef f(x):\n    return x\n```\nExample:\n```python\nprint(f(1))\n```"
    [edit] = parse_edits(answer, files, entry_point="f")
    assert edit.path == "solution.py" and "def f(x):\n    return x" in edit.content
    renamed = "f.py\n```python\ndef f(x):\n    return 2\n```\n"
    assert parse_edits(renamed, files, entry_point="f") == [FileEdit("solution.py", "def f(x):\n    return 2\n")]
    bare = "def f(x):\n    return x + 1\n\nThis adds one."
    assert parse_edits(bare, files, entry_point="f")[0].content.startswith("def f(x):\n    return x + 1")


def test_thinking_sections_are_ignored():
    answer = "<think>maybe pkg/core.py\n```python\nx = 0\n```\n</think>\npkg/core.py\n```python\nx = 5\n```\n"
    assert parse_edits(answer, FILES) == [FileEdit("pkg/core.py", "x = 5\n")]
    assert strip_thinking("<think>a</think>plan") == "plan" and strip_thinking("<think>cut off") == ""


def test_syntax_errors_name_file_and_line():
    edits = [FileEdit("a.py", "def f(:\n"), FileEdit("b.py", "x = 1\n"), FileEdit("c.md", "def (")]
    [err] = syntax_errors(edits)
    assert err.startswith("a.py:1:")


def test_keep_original_imports():
    original = "from typing import List\nimport math\n\n\ndef f(xs: List[int]) -> int:\n    '''doc'''\n"
    new = "def f(xs: List[int]) -> int:\n    return math.floor(sum(xs))\n"
    merged = keep_original_imports(original, new)
    assert merged.startswith("from typing import List\nimport math\n\n")
    assert keep_original_imports(original, "import math\nfrom typing import List\nx = 1\n").count("import") == 2
