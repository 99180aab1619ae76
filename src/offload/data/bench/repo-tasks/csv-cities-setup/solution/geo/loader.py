"""Reading the city table."""

import csv

from geo.model import City


def load_cities(path) -> list[City]:
    cities = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != 3:
                raise ValueError(f"line {reader.line_num}: expected 3 columns, got {len(row)}")
            name, lat, lon = row
            try:
                cities.append(City(name.strip(), float(lat), float(lon)))
            except ValueError:
                raise ValueError(f"line {reader.line_num}: bad coordinates {lat!r}, {lon!r}") from None
    return cities
