"""I420 frames as NumPy arrays: one flat uint8 buffer and views of its three planes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from nvr._fast.i420 import frame_size

Box = tuple[int, int, int, int]
"""A rectangle ``(x1, y1, x2, y2)`` in frame pixels, inclusive of x1/y1, exclusive of x2/y2."""


@dataclass(frozen=True, slots=True)
class Picture:
    """A flat I420 frame with what showing it takes: its size, whether its planes already use
    the full 0-255 range (most cameras send limited range), and when it was taken (seconds
    since the epoch)."""

    buffer: np.ndarray
    width: int
    height: int
    full_range: bool = False
    time: float = 0.0


class Planes(NamedTuple):
    """Views (no copies) of the Y (H x W), U and V (ceil(H/2) x ceil(W/2)) planes."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


def new_frame(width: int, height: int) -> np.ndarray:
    """A zeroed flat buffer that holds one I420 frame of ``width`` x ``height``."""
    return np.zeros(frame_size(width, height), np.uint8)


def planes(frame: np.ndarray, width: int, height: int) -> Planes:
    """The three planes of the flat I420 ``frame`` as 2-D views."""
    luma = width * height
    chroma_w, chroma_h = (width + 1) // 2, (height + 1) // 2
    chroma = chroma_w * chroma_h
    return Planes(
        frame[:luma].reshape(height, width),
        frame[luma:luma + chroma].reshape(chroma_h, chroma_w),
        frame[luma + chroma:luma + 2 * chroma].reshape(chroma_h, chroma_w),
    )
