"""key=value files."""

from kv.parser import parse

__all__ = ["parse"]
