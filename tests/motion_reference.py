"""Motion detection in plain NumPy, step by step: the reference for ``nvr._fast.motion``.

Same algorithm and the same integer arithmetic as the kernel (see its module docstring), written
the obvious way: whole-image array operations, a literal 3x3 dilation applied twice and
components found by label propagation, where the kernel fuses passes, dilates by rows and
columns and joins runs with union-find.
"""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]

COEF_BITS = 8  # bilinear weights are multiples of 2**-8
STATE_BITS = 6  # the running averages are in 1/64 grey levels
ALPHA_BITS = 15  # the alphas are multiples of 2**-15
WARM_UP_FRAMES = 30
MOTION_FRAMES_BEFORE_UPDATE = 10


def bilinear_table(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """First source index and the weight of the next one, for ``dst`` samples of ``src``.

    Sample ``i`` sits at ``(i + 0.5) * src / dst - 0.5`` (pixel centres line up), clamped to
    the image; exact integer arithmetic, then the fraction rounded to ``2**-COEF_BITS``.
    """
    position = np.maximum((2 * np.arange(dst, dtype=np.int64) + 1) * src - dst, 0)
    first = position // (2 * dst)
    weight = ((position % (2 * dst)) * (1 << COEF_BITS) + dst) // (2 * dst)
    last = first >= src - 1
    first[last] = max(src - 2, 0)
    weight[last] = 1 << COEF_BITS if src > 1 else 0
    return first, weight


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` (uint8) resized to ``size`` = (height, width), bilinear.

    Each row's pixel pair is blended and rounded, then the two rows' results are.
    """
    height, width = image.shape
    rows, row_weight = bilinear_table(height, size[0])
    cols, col_weight = bilinear_table(width, size[1])
    one, half = 1 << COEF_BITS, 1 << (COEF_BITS - 1)
    pixels = image.astype(np.int64)

    def horizontal(picked: np.ndarray) -> np.ndarray:
        blended = picked[:, cols] * (one - col_weight) + picked[:, cols + 1] * col_weight
        return (blended + half) >> COEF_BITS

    weight = row_weight[:, None]
    above = horizontal(pixels[rows])
    below = horizontal(pixels[np.minimum(rows + 1, height - 1)])
    return ((above * (one - weight) + below * weight + half) >> COEF_BITS).astype(np.uint8)


def alpha_weight(alpha: float) -> int:
    """``alpha`` as a multiple of ``2**-ALPHA_BITS``, below 1."""
    return min(round(alpha * (1 << ALPHA_BITS)), (1 << ALPHA_BITS) - 1)


def accumulate(average: np.ndarray, image: np.ndarray, weight: int) -> None:
    """``average += (image - average) * alpha``, rounded down, in place."""
    step = (image.astype(np.int64) << STATE_BITS) - average
    average += ((step * weight) >> ALPHA_BITS).astype(average.dtype)


def to_uint8(average: np.ndarray) -> np.ndarray:
    """A running average rounded to whole grey levels."""
    return ((average.astype(np.int64) + (1 << (STATE_BITS - 1))) >> STATE_BITS).astype(np.uint8)


def dilate(binary: np.ndarray) -> np.ndarray:
    """Dilation by a 3x3 square; outside the image counts as unset."""
    padded = np.pad(binary, 1)
    height, width = binary.shape
    out = np.zeros_like(binary)
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy:dy + height, dx:dx + width]
    return out


def components(binary: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """8-connected components as (pixel count, x1, y1, x2, y2), x2/y2 exclusive.

    Every set pixel starts with its own raster index as label and takes the smallest label
    in its 3x3 neighbourhood until nothing changes: a component ends up labelled by its
    first pixel in raster order, which is also the order of the list.
    """
    height, width = binary.shape
    unset = height * width
    labels = np.where(binary, np.arange(unset).reshape(height, width), unset)
    while True:
        padded = np.pad(labels, 1, constant_values=unset)
        smallest = labels.copy()
        for dy in range(3):
            for dx in range(3):
                np.minimum(smallest, padded[dy:dy + height, dx:dx + width], out=smallest)
        smallest[~binary.astype(bool)] = unset
        if np.array_equal(smallest, labels):
            break
        labels = smallest
    found = []
    for label in np.unique(labels[labels < unset]):
        ys, xs = np.nonzero(labels == label)
        found.append((len(ys), int(xs.min()), int(ys.min()), int(xs.max()) + 1,
                      int(ys.max()) + 1))
    return found


class ReferenceMotionDetector:
    """The NumPy twin of ``nvr._fast.motion.MotionDetector`` (same arguments, same boxes)."""

    def __init__(self, width: int, height: int, *, frame_height: int, threshold: int = 25,
                 contour_area: int = 100, delta_alpha: float = 0.2, frame_alpha: float = 0.2,
                 mask: np.ndarray | None = None) -> None:
        self.width, self.height = width, height
        self.size = (frame_height, frame_height * width // height)
        self.threshold = threshold
        self.contour_area = contour_area
        self.delta_weight = alpha_weight(delta_alpha)
        self.frame_weight = alpha_weight(frame_alpha)
        self.masked = None if mask is None else resize(mask, self.size) == 0
        self.avg_frame = np.zeros(self.size, np.int16)
        self.avg_delta = np.zeros(self.size, np.int16)
        self.frame_counter = 0
        self.motion_frame_count = 0

    def detect(self, luma: np.ndarray) -> list[Box]:
        """Motion boxes of one Y plane, in full-resolution pixels."""
        small = resize(luma, self.size)
        if self.masked is not None:
            small[self.masked] = 255

        boxes: list[Box] = []
        if self.frame_counter < WARM_UP_FRAMES:
            self.frame_counter += 1
        else:
            delta = np.abs(small.astype(np.int16) - to_uint8(self.avg_frame)).astype(np.uint8)
            accumulate(self.avg_delta, delta, self.delta_weight)
            current = delta > self.threshold
            avg_delta_image = np.where(current, to_uint8(self.avg_delta), 0)
            thresh = (avg_delta_image > self.threshold).astype(np.uint8)
            dilated = dilate(dilate(thresh))
            boxes = [self._scale(box) for count, *box in components(dilated)
                     if count > self.contour_area]

        if boxes:
            self.motion_frame_count += 1
            if self.motion_frame_count >= MOTION_FRAMES_BEFORE_UPDATE:
                accumulate(self.avg_frame, small, self.frame_weight)
        else:
            accumulate(self.avg_frame, small, self.frame_weight)
            self.motion_frame_count = 0
        return boxes

    def _scale(self, box: list[int]) -> Box:
        small_height, small_width = self.size
        x1, y1, x2, y2 = box
        return (x1 * self.width // small_width, y1 * self.height // small_height,
                -(-x2 * self.width // small_width), -(-y2 * self.height // small_height))
