"""Show a page."""

from pager.core import page, page_count


def render(items: list, number: int, per_page: int) -> str:
    shown = page(items, number, per_page)
    return f"Page {number}/{page_count(len(items), per_page)}: " + ", ".join(str(i) for i in shown)
