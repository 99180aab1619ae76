"""A shopping cart."""

from dataclasses import dataclass, field

from shop.pricing import apply_discounts


@dataclass
class Item:
    name: str
    unit_price: float
    quantity: int = 1


@dataclass
class Cart:
    items: list[Item] = field(default_factory=list)
    discount_code: str | None = None

    def add(self, item: Item) -> None:
        self.items.append(item)

    def subtotal(self) -> float:
        return sum(i.unit_price * i.quantity for i in self.items)

    def total(self) -> float:
        return apply_discounts(self.subtotal(), self.discount_code)
