"""Sorting rows."""


def sort_rows(rows: list[dict], key: str, descending: bool = False) -> list[dict]:
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    return sorted(present, key=lambda r: r[key], reverse=descending) + missing
