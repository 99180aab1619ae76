"""Reading and writing shapes."""

import json
from typing import Any

from geometry.shapes import Point, Polygon


def to_dict(shape: Point | Polygon) -> dict[str, Any]:
    if isinstance(shape, Point):
        return {"type": "point", "x": float(shape.x), "y": float(shape.y)}
    if isinstance(shape, Polygon):
        return {"type": "polygon", "name": shape.name, "points": [to_dict(p) for p in shape.points]}
    raise TypeError(f"not a shape: {shape!r}")


def from_dict(data: dict[str, Any]) -> Point | Polygon:
    kind = data.get("type")
    try:
        if kind == "point":
            return Point(float(data["x"]), float(data["y"]))
        if kind == "polygon":
            points = tuple(from_dict(p) for p in data["points"])
            return Polygon(points, name=str(data.get("name", "")))  # type: ignore[arg-type]
    except KeyError as exc:
        raise ValueError(f"missing field {exc}") from None
    raise ValueError(f"unknown shape type: {kind!r}")


def dumps(shape: Point | Polygon) -> str:
    return json.dumps(to_dict(shape))


def loads(text: str) -> Point | Polygon:
    return from_dict(json.loads(text))
