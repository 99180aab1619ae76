"""Default settings."""

DEFAULTS = {"port": 8080, "debug": False, "name": "demo", "ratio": 0.5}
