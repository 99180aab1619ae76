import pytest

from kv import parse
from kv.errors import ParseError

GOOD = """
# database
host = db.local
port=5432

  url = postgres://u:p@h/db?sslmode=require&x=1
"""


def test_good():
    assert parse(GOOD) == {"host": "db.local", "port": "5432",
                           "url": "postgres://u:p@h/db?sslmode=require&x=1"}
    assert parse("") == {}
    assert parse("a=") == {"a": ""}


@pytest.mark.parametrize("text,line", [("a=1\nnonsense\n", 2), ("a=1\n\n# c\n = 3", 4), ("a=1\nb=2\na=3", 3)])
def test_errors(text, line):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.line == line
    assert str(info.value).startswith(f"line {line}: ")


def test_is_value_error():
    assert issubclass(ParseError, ValueError)
