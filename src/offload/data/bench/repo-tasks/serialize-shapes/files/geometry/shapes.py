"""Shapes."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Polygon:
    points: tuple[Point, ...] = field(default_factory=tuple)
    name: str = ""

    def area(self) -> float:
        pts = self.points
        twice = sum(a.x * b.y - b.x * a.y for a, b in zip(pts, pts[1:] + pts[:1]))
        return abs(twice) / 2
