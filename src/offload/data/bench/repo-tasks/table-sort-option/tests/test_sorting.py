import pytest

from tabular.render import render
from tabular.sorting import sort_rows

ROWS = [
    {"name": "b", "size": 2},
    {"name": "a", "size": None},
    {"name": "c", "size": 1},
    {"name": "d", "size": 2},
    {"name": "e"},
]


def test_sort_rows():
    original = [dict(r) for r in ROWS]
    assert [r["name"] for r in sort_rows(ROWS, "size")] == ["c", "b", "d", "a", "e"]
    assert [r["name"] for r in sort_rows(ROWS, "size", descending=True)] == ["b", "d", "c", "a", "e"]
    assert [r["name"] for r in sort_rows(ROWS, "name", True)] == ["e", "d", "c", "b", "a"]
    assert ROWS == original


def test_render_sorted():
    text = render(ROWS[:3], ["name", "size"], sort_by="size")
    assert text.splitlines() == ["name  size", "c     1", "b     2", "a"]


def test_render_unsorted_unchanged():
    assert render(ROWS[:2], ["name", "size"]).splitlines() == ["name  size", "b     2", "a"]


def test_unknown_column():
    with pytest.raises(ValueError, match="unknown column: colour"):
        render(ROWS, ["name", "size"], sort_by="colour")
