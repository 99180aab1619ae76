"""Operations on bags."""

from inventory.bag import Bag


def merge(a: Bag, b: Bag) -> Bag:
    a.items.extend(b.items)
    return a


def with_item(bag: Bag, item) -> Bag:
    bag.add(item)
    return bag
