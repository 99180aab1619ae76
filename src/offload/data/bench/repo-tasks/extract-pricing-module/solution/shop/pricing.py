"""Prices and discounts."""

TAX_RATE = 0.2
KNOWN_CODES = frozenset({"SAVE10", "FLAT5"})


def with_tax(amount: float) -> float:
    return round(amount * (1 + TAX_RATE), 2)


def apply_discounts(subtotal: float, code: str | None) -> float:
    if code is not None and code not in KNOWN_CODES:
        raise ValueError(f"unknown discount code: {code}")
    total = subtotal
    if code == "SAVE10":
        total = total * 0.9
    elif code == "FLAT5" and total >= 20:
        total = total - 5
    if total > 100:
        total = total - 2.5
    return round(total, 2)
