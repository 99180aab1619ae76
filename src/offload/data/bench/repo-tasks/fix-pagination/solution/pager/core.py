"""Page arithmetic."""


def page_count(total: int, per_page: int) -> int:
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    return max(1, -(-total // per_page))


def page(items: list, number: int, per_page: int) -> list:
    count = page_count(len(items), per_page)
    if not 1 <= number <= count:
        raise ValueError(f"page {number} out of range 1..{count}")
    start = (number - 1) * per_page
    return items[start : start + per_page]
