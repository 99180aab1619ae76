"""Operations on bags."""

from inventory.bag import Bag


def merge(a: Bag, b: Bag) -> Bag:
    return Bag(a.items + b.items)


def with_item(bag: Bag, item) -> Bag:
    return Bag([*bag.items, item])
