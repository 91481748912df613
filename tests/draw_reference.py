"""Plain NumPy references for the drawing kernels in nvr._fast.draw."""

from __future__ import annotations

import numpy as np

GUARD = 64  # bytes of guard band before and after every plane


class GuardedPlanes:
    """Random Y, U and V planes inside larger buffers, so that writes out of bounds show up."""

    def __init__(self, width: int, height: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.shapes = [(height, width), *[((height + 1) // 2, (width + 1) // 2)] * 2]
        self.buffers = [rng.integers(0, 256, rows * cols + 2 * GUARD, np.uint8)
                        for rows, cols in self.shapes]
        self.original = [buffer.copy() for buffer in self.buffers]

    @property
    def planes(self) -> list[np.ndarray]:
        """The planes: C-contiguous views into the middle of the buffers."""
        return [buffer[GUARD:-GUARD].reshape(shape)
                for buffer, shape in zip(self.buffers, self.shapes, strict=True)]

    def copies(self) -> list[np.ndarray]:
        """Copies of the planes as they were before any drawing."""
        return [buffer[GUARD:-GUARD].reshape(shape).copy()
                for buffer, shape in zip(self.original, self.shapes, strict=True)]

    def guards_intact(self) -> bool:
        return all(
            np.array_equal(buffer[:GUARD], original[:GUARD])
            and np.array_equal(buffer[-GUARD:], original[-GUARD:])
            for buffer, original in zip(self.buffers, self.original, strict=True)
        )


def chroma_cover(luma: np.ndarray) -> np.ndarray:
    """Chroma samples with at least one of their 2 x 2 luma pixels set."""
    height, width = luma.shape
    padded = np.zeros((height + height % 2, width + width % 2), bool)
    padded[:height, :width] = luma
    return padded[0::2, 0::2] | padded[0::2, 1::2] | padded[1::2, 0::2] | padded[1::2, 1::2]


def paint(planes: list[np.ndarray], luma: np.ndarray, color: tuple[int, int, int]) -> None:
    """Paint ``color`` where ``luma`` is set, and on the chroma samples that cover it."""
    chroma = chroma_cover(luma)
    for plane, where, value in zip(planes, (luma, chroma, chroma), color, strict=True):
        plane[where] = value


def rectangle_pixels(width: int, height: int, box: tuple[int, int, int, int],
                     thickness: int) -> np.ndarray:
    """Pixels of the outline of ``box``: inside it but not inside the box shrunk by thickness."""
    x1, y1, x2, y2 = box
    ys, xs = np.mgrid[0:height, 0:width]
    inside = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
    t = thickness
    inner = (xs >= x1 + t) & (xs < x2 - t) & (ys >= y1 + t) & (ys < y2 - t)
    return inside & ~inner


def polygon_distance(width: int, height: int, points: list[tuple[float, float]],
                     thickness: int) -> np.ndarray:
    """Distance from every pixel centre to the closed outline through ``points``.

    Odd outlines run through pixel centres, even ones along pixel edges (as in the kernel).
    """
    offset = 0.5 if thickness % 2 else 0.0
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    best = np.full((height, width), np.inf)
    corners = np.asarray(points, float) + offset
    for a, b in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        d = b - a
        length2 = d @ d
        along = ((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / length2 if length2 else 0.0
        along = np.clip(along, 0.0, 1.0)
        best = np.minimum(best, np.hypot(xs - a[0] - along * d[0], ys - a[1] - along * d[1]))
    return best


def area_weights(source: int, target: int) -> np.ndarray:
    """target x source matrix: how much of each source sample every target sample covers."""
    edges = np.arange(target + 1) * source / target
    starts, ends = edges[:-1, None], edges[1:, None]
    cells = np.arange(source)[None, :]
    overlap = np.clip(np.minimum(ends, cells + 1) - np.maximum(starts, cells), 0, None)
    return overlap / (source / target)


def linear_weights(source: int, target: int) -> np.ndarray:
    """target x source matrix of linear interpolation between pixel centres, edges clamped."""
    at = np.clip((np.arange(target) + 0.5) * source / target - 0.5, 0, source - 1)
    weights = np.zeros((target, source))
    below = np.floor(at).astype(int)
    above = np.minimum(below + 1, source - 1)
    np.add.at(weights, (np.arange(target), below), 1 - (at - below))
    np.add.at(weights, (np.arange(target), above), at - below)
    return weights


def resize(src: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area average along an axis that shrinks, linear interpolation along one that grows."""

    def weights(source: int, target: int) -> np.ndarray:
        return area_weights(source, target) if target <= source else linear_weights(source, target)

    out = weights(src.shape[0], height) @ src.astype(float) @ weights(src.shape[1], width).T
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
