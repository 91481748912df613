"""Plain Python and NumPy versions of nvr._fast.regions, written for clarity, not speed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[int, int, int, int]

MIN_REGION = 300


def _start(low: int, high: int, size: int, limit: int) -> int:
    start = (low + high - size) // 2
    return max(0, min(start, limit - size))


def region_for_box(box: Box, frame_width: int, frame_height: int,
                   multiplier: float = 2.0) -> Box:
    x1, y1, x2, y2 = box
    size = max(int(max(x2 - x1, y2 - y1) // 4 * 4 * multiplier), MIN_REGION)
    x = _start(x1, x2, size, frame_width)
    y = _start(y1, y2, size, frame_height)
    return (x, y, x + size, y + size)


def _near(a1: int, a2: int, b1: int, b2: int) -> bool:
    tolerance = min(a2 - a1, b2 - b1)
    return 5 * abs(a1 - b1) <= tolerance and 5 * abs(a2 - b2) <= tolerance


def similar(a: Box, b: Box) -> bool:
    """Every edge within 20% of the smaller box's extent on that axis."""
    return _near(a[0], a[2], b[0], b[2]) and _near(a[1], a[3], b[1], b[3])


def contains(outer: Box, inner: Box) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and inner[2] <= outer[2] and inner[3] <= outer[3])


def _groups(boxes: list[Box]) -> list[list[Box]]:
    """Connected components of the similarity graph, grown by search."""
    unseen = set(range(len(boxes)))
    groups = []
    while unseen:
        todo = [unseen.pop()]
        group = []
        while todo:
            i = todo.pop()
            group.append(boxes[i])
            linked = {j for j in unseen if similar(boxes[i], boxes[j])}
            unseen -= linked
            todo.extend(linked)
        groups.append(group)
    return groups


def _average(group: list[Box]) -> Box:
    n = len(group)
    # Round half up, in integers.
    x1, y1, x2, y2 = ((2 * sum(edge) + n) // (2 * n) for edge in zip(*group, strict=True))
    return (x1, y1, x2, y2)


def reduce_boxes(boxes: Sequence[Box]) -> list[Box]:
    averaged = sorted({_average(group) for group in _groups([tuple(b) for b in boxes])})
    return [box for box in averaged
            if not any(other != box and contains(other, box) for other in averaged)]


def touches(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def select_regions(motion_boxes: Sequence[Box], tracked_boxes: Sequence[Box],
                   frame_width: int, frame_height: int) -> list[Box]:
    moving = [tuple(box) for box in motion_boxes]
    candidates = moving + [tuple(box) for box in tracked_boxes
                           if any(touches(box, m) for m in moving)]
    regions = [region_for_box(box, frame_width, frame_height, 1.2)
               for box in reduce_boxes(candidates)]
    return sorted({region_for_box(box, frame_width, frame_height, 1.0)
                   for box in reduce_boxes(regions)})


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
