"""A logger that keeps its lines in memory."""

LEVELS = ("debug", "info", "warning", "error")


def _rank(level: str) -> int:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; use one of {LEVELS}")
    return LEVELS.index(level)


class Logger:
    def __init__(self, min_level: str = "info") -> None:
        self.min_rank = _rank(min_level)
        self.lines: list[str] = []

    def log(self, level: str, msg: str) -> None:
        if _rank(level) >= self.min_rank:
            self.lines.append(f"{level.upper()} {msg}")
