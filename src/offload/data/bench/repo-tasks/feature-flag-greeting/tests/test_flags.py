import pytest

from app.flags import DEFAULTS, Flags
from app.greeting import greet


def test_default():
    assert greet("Ada") == "Hello, Ada."
    assert greet("Ada", Flags()) == "Hello, Ada."


def test_defaults_off():
    assert DEFAULTS["shout"] is False
    assert DEFAULTS["formal"] is False
    assert DEFAULTS["new_footer"] is False


def test_shout():
    assert greet("Ada", Flags({"shout": True})) == "HELLO, ADA!"


def test_formal():
    assert greet("Ada", Flags({"formal": True})) == "Good day, Ada."


def test_both():
    assert greet("Ada", Flags({"formal": True, "shout": True})) == "GOOD DAY, ADA!"


def test_unknown_flags():
    with pytest.raises(KeyError):
        Flags().enabled("nope")
    with pytest.raises(KeyError):
        Flags({"nope": True})
