import json

import pytest

from geometry.io import dumps, from_dict, loads, to_dict
from geometry.shapes import Point, Polygon

SQUARE = Polygon((Point(0, 0), Point(2, 0), Point(2, 2), Point(0, 2)), name="square")


def test_point():
    assert to_dict(Point(1, 2)) == {"type": "point", "x": 1.0, "y": 2.0}
    assert from_dict({"type": "point", "x": 1, "y": 2}) == Point(1.0, 2.0)
    assert isinstance(from_dict({"type": "point", "x": 1, "y": 2}).x, float)


def test_polygon_round_trip():
    data = to_dict(SQUARE)
    assert data["type"] == "polygon" and data["name"] == "square"
    assert data["points"][1] == {"type": "point", "x": 2.0, "y": 0.0}
    back = from_dict(data)
    assert back == SQUARE and back.area() == 4


def test_json():
    text = dumps(SQUARE)
    assert json.loads(text)["type"] == "polygon"
    assert loads(text) == SQUARE
    assert loads(dumps(Point(0.5, -1))) == Point(0.5, -1)


def test_name_default():
    assert from_dict({"type": "polygon", "points": []}) == Polygon(())


@pytest.mark.parametrize("bad", [{"type": "circle"}, {"x": 1, "y": 2}, {"type": "point", "x": 1},
                                 {"type": "polygon", "name": "p"}])
def test_bad_input(bad):
    with pytest.raises(ValueError):
        from_dict(bad)


def test_not_a_shape():
    with pytest.raises(TypeError):
        to_dict("square")
