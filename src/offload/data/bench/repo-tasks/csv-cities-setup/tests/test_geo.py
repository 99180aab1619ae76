from pathlib import Path

import pytest

from geo.loader import load_cities
from geo.model import City
from geo.query import nearest

DATA = Path(__file__).resolve().parent.parent / "data" / "cities.csv"


def test_load():
    cities = load_cities(DATA)
    assert len(cities) == 6
    assert cities[0] == City("Oslo", 59.91, 10.75)
    assert all(isinstance(c.lat, float) and isinstance(c.lon, float) for c in cities)


def test_nearest():
    cities = load_cities(DATA)
    assert nearest(cities, 48.0, 11.0).name == "Munich"
    assert nearest(cities, -33.0, 150.0).name == "Sydney"
    with pytest.raises(ValueError):
        nearest([], 0, 0)


def test_bad_rows(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lat,lon\nOslo,59.91,10.75\n\nNowhere,north,1\n")
    with pytest.raises(ValueError, match="line 4"):
        load_cities(bad)
    bad.write_text("name,lat,lon\nOslo,59.91\n")
    with pytest.raises(ValueError, match="line 2"):
        load_cities(bad)
