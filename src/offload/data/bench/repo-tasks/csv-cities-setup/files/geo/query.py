"""Questions about cities."""

from geo.model import City


def nearest(cities: list[City], lat: float, lon: float) -> City:
    raise NotImplementedError
