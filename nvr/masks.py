"""Masks from config polygons: full-resolution uint8 images, 0 inside a polygon, 255 outside."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from nvr.config.polygons import Polygon


def polygon_mask(width: int, height: int, polygons: list[Polygon]) -> np.ndarray | None:
    """The mask of ``polygons`` (filled interiors are 0), or None when there is none."""
    if not polygons:
        return None
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for polygon in polygons:
        draw.polygon(polygon, fill=0, outline=0)
    return np.asarray(image, dtype=np.uint8).copy()
