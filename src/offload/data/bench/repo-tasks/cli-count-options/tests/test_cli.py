import pytest

from textstats.cli import main
from textstats.counting import count_lines


@pytest.mark.parametrize("text,n", [("", 0), ("a", 1), ("a\nb", 2), ("a\nb\n", 2), ("\n", 1), ("a\n\nb", 3)])
def test_count_lines(text, n):
    assert count_lines(text) == n


def _file(tmp_path, text="one two\nthree\n"):
    p = tmp_path / "in.txt"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_default_is_words(tmp_path):
    assert main([_file(tmp_path)]) == "words: 3"


def test_single_options(tmp_path):
    path = _file(tmp_path)
    assert main([path, "--lines"]) == "lines: 2"
    assert main([path, "--words"]) == "words: 3"
    assert main([path, "--chars"]) == "chars: 14"


def test_combined_in_fixed_order(tmp_path):
    path = _file(tmp_path)
    assert main([path, "--chars", "--lines"]) == "lines: 2\nchars: 14"
    assert main(["--chars", "--words", "--lines", path]) == "lines: 2\nwords: 3\nchars: 14"
