"""Errors of the kv package."""


class ParseError(ValueError):
    """A line that cannot be parsed (``line`` is 1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
