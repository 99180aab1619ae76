import pytest

from config_app.defaults import DEFAULTS
from config_app.errors import SettingsError
from config_app.settings import load_settings


def test_defaults():
    assert load_settings({}) == {"port": 8080, "debug": False, "name": "demo", "ratio": 0.5}


def test_overrides_are_typed():
    s = load_settings({"APP_PORT": "9000", "APP_DEBUG": " Yes ", "APP_NAME": "prod", "APP_RATIO": "0.25",
                       "APP_UNKNOWN": "x", "PORT": "1"})
    assert s == {"port": 9000, "debug": True, "name": "prod", "ratio": 0.25}
    assert DEFAULTS["port"] == 8080


@pytest.mark.parametrize("raw,value", [("1", True), ("true", True), ("ON", True), ("0", False),
                                       ("False", False), ("no", False), ("off", False)])
def test_bools(raw, value):
    assert load_settings({"APP_DEBUG": raw})["debug"] is value


@pytest.mark.parametrize("var,raw", [("APP_PORT", "eighty"), ("APP_DEBUG", "maybe"), ("APP_RATIO", "1/2")])
def test_bad_values(var, raw):
    with pytest.raises(SettingsError, match=var):
        load_settings({var: raw})
    assert issubclass(SettingsError, ValueError)


def test_os_environ(monkeypatch):
    monkeypatch.setenv("APP_PORT", "7000")
    assert load_settings()["port"] == 7000
