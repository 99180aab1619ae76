"""The basic statistics."""


def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def median(values: list[float]) -> float:
    raise NotImplementedError


def mode(values: list[float]) -> float:
    raise NotImplementedError
