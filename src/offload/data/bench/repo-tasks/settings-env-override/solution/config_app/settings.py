"""Effective settings."""

import os
from collections.abc import Mapping

from config_app.defaults import DEFAULTS
from config_app.errors import SettingsError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(var: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise SettingsError(f"{var}: {raw!r} is not a boolean")
    try:
        if isinstance(default, int):
            return int(raw.strip())
        if isinstance(default, float):
            return float(raw.strip())
    except ValueError:
        raise SettingsError(f"{var}: {raw!r} is not a {type(default).__name__}") from None
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> dict:
    source = os.environ if env is None else env
    settings = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        var = f"APP_{key.upper()}"
        if var in source:
            settings[key] = _convert(var, source[var], default)
    return settings
