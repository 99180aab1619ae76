"""Feature flags: defaults, overridden per instance."""

DEFAULTS = {"new_footer": False, "shout": False, "formal": False}


class Flags:
    def __init__(self, overrides: dict[str, bool] | None = None) -> None:
        unknown = set(overrides or {}) - set(DEFAULTS)
        if unknown:
            raise KeyError(f"unknown flag(s): {sorted(unknown)}")
        self._values = {**DEFAULTS, **(overrides or {})}

    def enabled(self, name: str) -> bool:
        if name not in self._values:
            raise KeyError(f"unknown flag: {name}")
        return bool(self._values[name])
