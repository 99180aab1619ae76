"""Errors."""


class SettingsError(ValueError):
    """A setting from the environment has a value that cannot be used."""
