"""A bag of items."""


class Bag:
    def __init__(self, items=None):
        self.items = list(items) if items is not None else []

    def add(self, item):
        self.items.append(item)

    def __len__(self):
        return len(self.items)
