"""Plain Python and NumPy versions of nvr._fast.regions, written for clarity, not speed.

Region selection lives in ``nvr.bench.python_regions`` (``nvr bench`` times it too); it is
re-exported here for the tests.
"""

from __future__ import annotations

import numpy as np

from nvr.bench.python_regions import (
    MIN_REGION,
    Box,
    contains,
    reduce_boxes,
    region_for_box,
    select_regions,
    similar,
    touches,
)

__all__ = ["MIN_REGION", "Box", "contains", "crop_to_tensor", "reduce_boxes", "region_for_box",
           "select_regions", "similar", "touches", "yuv_to_rgb"]


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BT.601 limited range YUV (floats allowed) to RGB uint8, rounded half up."""
    luma = (np.asarray(y, np.float64) - 16) * 255 / 219
    cb = (np.asarray(u, np.float64) - 128) * 255 / 224
    cr = (np.asarray(v, np.float64) - 128) * 255 / 224
    kr, kb = 0.299, 0.114
    kg = 1 - kr - kb
    rgb = np.stack([
        luma + 2 * (1 - kr) * cr,
        luma - 2 * (1 - kb) * kb / kg * cb - 2 * (1 - kr) * kr / kg * cr,
        luma + 2 * (1 - kb) * cb,
    ], axis=-1)
    return np.clip(np.floor(rgb + 0.5), 0, 255).astype(np.uint8)


def _luma_taps(positions: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """Two source indices per position and their weights, 0 for samples outside the plane."""
    i0 = np.floor(positions).astype(np.int64)
    w1 = positions - i0
    w0 = 1 - w1
    i1 = i0 + 1
    w0 = np.where((i0 >= 0) & (i0 < size), w0, 0.0)
    w1 = np.where((i1 >= 0) & (i1 < size), w1, 0.0)
    return np.clip(i0, 0, size - 1), np.clip(i1, 0, size - 1), w0, w1


def _chroma_taps(luma_positions: np.ndarray, inside: np.ndarray,
                 size: int) -> tuple[np.ndarray, ...]:
    """Centre-sited chroma: the plane edge repeats, faded out where the luma is outside."""
    positions = luma_positions / 2 - 0.25
    i0 = np.floor(positions).astype(np.int64)
    w1 = positions - i0
    return (np.clip(i0, 0, size - 1), np.clip(i0 + 1, 0, size - 1),
            (1 - w1) * inside, w1 * inside)


def _sample(plane: np.ndarray, black: int, rows: tuple[np.ndarray, ...],
            cols: tuple[np.ndarray, ...]) -> np.ndarray:
    r0, r1, wr0, wr1 = rows
    c0, c1, wc0, wc1 = cols
    values = plane.astype(np.float64) - black
    top = values[r0][:, c0] * wc0 + values[r0][:, c1] * wc1
    bottom = values[r1][:, c0] * wc0 + values[r1][:, c1] * wc1
    return black + top * wr0[:, None] + bottom * wr1[:, None]


def crop_to_tensor(y: np.ndarray, u: np.ndarray, v: np.ndarray, region: Box,
                   size: int) -> np.ndarray:
    """``region`` of an I420 frame bilinearly resized to ``size`` x ``size`` RGB."""
    height, width = y.shape
    x1, y1, x2, y2 = region
    centres = np.arange(size) + 0.5
    xs = x1 + centres * (x2 - x1) / size - 0.5
    ys = y1 + centres * (y2 - y1) / size - 0.5
    luma_cols, luma_rows = _luma_taps(xs, width), _luma_taps(ys, height)
    chroma_cols = _chroma_taps(xs, luma_cols[2] + luma_cols[3], u.shape[1])
    chroma_rows = _chroma_taps(ys, luma_rows[2] + luma_rows[3], u.shape[0])
    return yuv_to_rgb(_sample(y, 16, luma_rows, luma_cols),
                      _sample(u, 128, chroma_rows, chroma_cols),
                      _sample(v, 128, chroma_rows, chroma_cols))
