"""A shopping cart."""

from dataclasses import dataclass, field


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
        total = self.subtotal()
        if self.discount_code == "SAVE10":
            total = total * 0.9
        elif self.discount_code == "FLAT5" and total >= 20:
            total = total - 5
        if total > 100:
            total = total - 2.5  # loyalty rebate on large orders
        return round(total, 2)
