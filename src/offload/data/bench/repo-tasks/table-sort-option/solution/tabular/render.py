"""Render rows as a text table."""

from tabular.sorting import sort_rows


def render(rows: list[dict], columns: list[str], sort_by: str | None = None, descending: bool = False) -> str:
    if sort_by is not None:
        if sort_by not in columns:
            raise ValueError(f"unknown column: {sort_by}")
        rows = sort_rows(rows, sort_by, descending)
    cells = [[str(c) for c in columns]] + [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)
