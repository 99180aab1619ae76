"""Questions about cities."""

from geo.model import City, distance_km


def nearest(cities: list[City], lat: float, lon: float) -> City:
    if not cities:
        raise ValueError("no cities to choose from")
    return min(cities, key=lambda c: distance_km(lat, lon, c.lat, c.lon))
