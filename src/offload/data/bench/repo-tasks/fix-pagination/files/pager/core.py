"""Page arithmetic."""


def page_count(total: int, per_page: int) -> int:
    return total // per_page


def page(items: list, number: int, per_page: int) -> list:
    start = number * per_page
    return items[start : start + per_page]
