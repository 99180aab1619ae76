import pytest

from pager import page, page_count, render

ITEMS = [chr(ord("a") + i) for i in range(25)]


def test_page_count():
    assert page_count(25, 10) == 3
    assert page_count(20, 10) == 2
    assert page_count(1, 10) == 1
    assert page_count(0, 10) == 1


def test_pages():
    assert page(ITEMS, 1, 10) == ITEMS[:10]
    assert page(ITEMS, 3, 10) == ITEMS[20:]
    assert page([], 1, 5) == []


def test_render():
    assert render(ITEMS, 3, 10) == "Page 3/3: u, v, w, x, y"
    assert render(ITEMS[:6], 2, 3) == "Page 2/2: d, e, f"


@pytest.mark.parametrize("number", [0, -1, 4])
def test_out_of_range(number):
    with pytest.raises(ValueError):
        page(ITEMS, number, 10)
    with pytest.raises(ValueError):
        render(ITEMS, number, 10)


def test_bad_per_page():
    with pytest.raises(ValueError):
        page_count(10, 0)
    with pytest.raises(ValueError):
        page(ITEMS, 1, 0)
