"""Prices: tax now; discount rules still live in cart.py."""

TAX_RATE = 0.2


def with_tax(amount: float) -> float:
    return round(amount * (1 + TAX_RATE), 2)
