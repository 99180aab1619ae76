import inspect

import pytest

import shop.cart
from shop.cart import Cart, Item
from shop.pricing import KNOWN_CODES, apply_discounts, with_tax


def test_rules():
    assert apply_discounts(50, "SAVE10") == 45.0
    assert apply_discounts(19, "FLAT5") == 19.0
    assert apply_discounts(20, "FLAT5") == 15.0
    assert apply_discounts(200, None) == 197.5
    assert apply_discounts(120, "SAVE10") == 105.5
    assert apply_discounts(33.333, None) == 33.33


def test_unknown_code():
    with pytest.raises(ValueError, match="unknown discount code: BOGUS"):
        apply_discounts(10, "BOGUS")


def test_known_codes():
    assert KNOWN_CODES == frozenset({"SAVE10", "FLAT5"})


def test_cart_uses_pricing():
    source = inspect.getsource(shop.cart)
    assert "SAVE10" not in source and "FLAT5" not in source
    assert "apply_discounts" in source


def test_cart_totals_unchanged():
    cart = Cart(discount_code="FLAT5")
    cart.add(Item("pen", 2.5, 4))
    cart.add(Item("book", 15))
    assert cart.total() == 20.0
    big = Cart(discount_code="SAVE10", items=[Item("desk", 150)])
    assert big.total() == 132.5
    assert Cart().total() == 0
    assert with_tax(10) == 12.0
