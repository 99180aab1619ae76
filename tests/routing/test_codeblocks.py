"""Finding code and JSON in model answers."""

from __future__ import annotations

import pytest

from offload.routing.codeblocks import code_blocks, defined_names, extract_json, extract_python


def test_fenced_block_with_language_tag() -> None:
    answer = "Here you go:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nHope it helps."
    assert extract_python(answer, ["add"]) == "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize("tag", ["py", "Python", "python3", ""])
def test_language_tags_are_normalised(tag: str) -> None:
    blocks = code_blocks(f"```{tag}\nx = 1\n```")
    assert blocks[0].language == ("python" if tag else None)
    assert blocks[0].fenced


def test_tilde_fences_and_longer_fences() -> None:
    assert code_blocks("~~~python\nx = 1\n~~~")[0].code == "x = 1\n"
    text = "````python\nprint('```')\n````"
    assert code_blocks(text)[0].code == "print('```')\n"


def test_unclosed_fence_runs_to_the_end() -> None:
    answer = "```python\ndef f(x):\n    return x * 2"
    assert extract_python(answer, ["f"]) == "def f(x):\n    return x * 2\n"


def test_picks_the_block_that_defines_the_asked_for_name() -> None:
    answer = (
        "First a helper usage:\n```python\nprint(is_even(4))\n```\n"
        "The solution:\n```python\ndef is_even(n):\n    return n % 2 == 0\n```\n"
        "And a test:\n```python\nassert is_even(2)\nassert not is_even(3)\nassert is_even(10)\n```"
    )
    assert "def is_even" in (extract_python(answer, ["is_even"]) or "")


def test_joins_blocks_when_names_are_spread_over_several() -> None:
    answer = (
        "```python\ndef helper(x):\n    return x + 1\n```\nthen\n```python\ndef main(x):\n    return helper(x)\n```"
    )
    code = extract_python(answer, ["helper", "main"]) or ""
    assert {"helper", "main"} <= defined_names(code)


def test_other_languages_are_ignored() -> None:
    answer = "```bash\npip install foo\n```\n```python\nimport foo\n```"
    assert extract_python(answer) == "import foo\n"


def test_unfenced_code_with_prose_after_it() -> None:
    answer = "def square(x):\n    return x * x\n\nThis function returns the square of x."
    assert extract_python(answer, ["square"]) == "def square(x):\n    return x * x\n"


def test_unfenced_code_after_prose() -> None:
    answer = "Sure! Here is the code:\nimport math\n\ndef area(r):\n    return math.pi * r ** 2\n"
    code = extract_python(answer, ["area"]) or ""
    assert code.startswith("import math") and "def area" in code


def test_no_code_at_all() -> None:
    assert extract_python("I cannot help with that.") is None
    assert extract_python("") is None


def test_defined_names() -> None:
    code = "import os\nX = 1\ny: int = 2\nclass C: pass\ndef f(): pass\nasync def g(): pass\n"
    assert defined_names(code) == {"X", "y", "C", "f", "g"}
    assert defined_names("def broken(:") == set()


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ('Here is the JSON:\n{"a": 1}\nLet me know if you need more.', {"a": 1}),
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
        ('{"a": 1 // the count\n, /* note */ "b": 2}', {"a": 1, "b": 2}),
        ("{'a': True, 'b': None}", {"a": True, "b": None}),
        ('{"a": True, "b": None}', {"a": True, "b": None}),
        ('[{"url": "http://x//y", "t": "a,]"}]', [{"url": "http://x//y", "t": "a,]"}]),
        ("{'ok': true, 'v': null}", {"ok": True, "v": None}),
        ("```\n[1, 2, 3]\n```\ntrailing words", [1, 2, 3]),
        ("42", 42),
    ],
)
def test_extract_json_repairs_near_json(answer: str, value: object) -> None:
    assert extract_json(answer) == value


@pytest.mark.parametrize("answer", ["no json here", "{broken: [", "", "```python\nprint(1)\n```"])
def test_extract_json_reports_failure(answer: str) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        extract_json(answer)
