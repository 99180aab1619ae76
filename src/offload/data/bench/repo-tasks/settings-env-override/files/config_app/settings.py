"""Effective settings."""

from config_app.defaults import DEFAULTS


def load_settings(env=None) -> dict:
    return dict(DEFAULTS)
