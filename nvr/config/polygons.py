"""Polygons in the config: zone coordinates and masks, as points in detect-stream pixels."""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError

Point = tuple[int, int]
Polygon = list[Point]


def _invalid(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("polygon", message, context)


def _points(numbers: list[str], text: str) -> Polygon:
    try:
        values = [int(number.strip()) for number in numbers]
    except ValueError:
        message = "polygon {text} must be integers separated by commas"
        raise _invalid(message, text=repr(text)) from None
    if len(values) % 2:
        raise _invalid("polygon {text} has an odd number of values", text=repr(text))
    if len(values) < 6:
        raise _invalid("polygon {text} needs at least 3 points", text=repr(text))
    if any(value < 0 for value in values):
        raise _invalid("polygon {text} has a negative coordinate", text=repr(text))
    return list(zip(values[0::2], values[1::2], strict=True))


def parse_polygon(text: Any) -> Polygon:
    """Points of a polygon written as ``"x1,y1,x2,y2,..."``."""
    if not isinstance(text, str):
        raise _invalid('expected a polygon string "x1,y1,x2,y2,..."')
    return _points(text.split(","), text)


def parse_zone_coordinates(value: Any) -> Polygon:
    """Zone coordinates: one polygon string, or a list of ``"x,y"`` point strings."""
    if isinstance(value, list):
        if not all(isinstance(point, str) and point.count(",") == 1 for point in value):
            raise _invalid('expected a list of "x,y" points')
        return _points([number for point in value for number in point.split(",")], ",".join(value))
    return parse_polygon(value)


def parse_mask(value: Any) -> list[Polygon]:
    """A mask: nothing, one polygon string, or a list of polygon strings."""
    if value is None:
        return []
    if isinstance(value, list):
        return [parse_polygon(text) for text in value]
    return [parse_polygon(value)]
