import pytest

from stats_kit.core import median, mode
from stats_kit.summary import summarize


def test_median():
    data = [5, 1, 3]
    assert median(data) == 3 and data == [5, 1, 3]
    assert median([4, 1, 3, 2]) == 2.5
    assert median([7]) == 7


def test_mode():
    assert mode([1, 2, 2, 3]) == 2
    assert mode([3, 1, 3, 1, 2]) == 1
    assert mode([9]) == 9


@pytest.mark.parametrize("fn", [median, mode])
def test_empty(fn):
    with pytest.raises(ValueError):
        fn([])


def test_summarize():
    assert summarize([2, 4, 4, 10]) == {"count": 4, "mean": 5.0, "median": 4.0, "mode": 4, "min": 2, "max": 10}
    assert summarize([]) == {"count": 0}
