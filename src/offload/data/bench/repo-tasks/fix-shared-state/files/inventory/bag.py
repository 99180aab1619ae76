"""A bag of items."""


class Bag:
    def __init__(self, items=[]):
        self.items = items

    def add(self, item):
        self.items.append(item)

    def __len__(self):
        return len(self.items)
