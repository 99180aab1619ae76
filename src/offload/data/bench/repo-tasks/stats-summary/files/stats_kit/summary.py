"""A summary of a list of numbers."""

from stats_kit.core import mean, median, mode


def summarize(values: list[float]) -> dict:
    return {
        "count": len(values),
        "mean": mean(values),
        "median": median(values),
        "mode": mode(values),
        "min": min(values),
        "max": max(values),
    }
