from inventory.bag import Bag
from inventory.ops import merge, with_item


def test_fresh_bags_are_independent():
    a, b = Bag(), Bag()
    a.add("apple")
    assert len(b) == 0 and b.items == []


def test_bag_copies_its_input():
    source = ["x"]
    bag = Bag(source)
    source.append("y")
    bag.add("z")
    assert bag.items == ["x", "z"] and source == ["x", "y"]


def test_merge_is_pure():
    a, b = Bag(["a"]), Bag(["b"])
    m = merge(a, b)
    assert m.items == ["a", "b"] and m is not a and m is not b
    assert a.items == ["a"] and b.items == ["b"]
    m.add("c")
    assert a.items == ["a"]


def test_with_item_is_pure():
    bag = Bag(["a"])
    new = with_item(bag, "b")
    assert new.items == ["a", "b"] and bag.items == ["a"] and new is not bag
