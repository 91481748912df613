"""The detector interface shared by all backends."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

MIN_SCORE = 0.4
"""The detector's own score floor (Frigate 0.8 hard-codes it); filters come later."""



@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object.

    ``box`` is ``(x1, y1, x2, y2)`` in pixels of the tensor given to ``detect``, as floats: the
    caller scales it to the frame and rounds once. It is not clipped: like the models' own
    output it may stray slightly outside the tensor.
    """

    label: str
    score: float
    box: tuple[float, float, float, float]


class Detector(ABC):
    """An object detector that owns its model; not thread-safe (one thread per detector)."""

    @property
    @abstractmethod
    def input_size(self) -> tuple[int, int]:
        """``(width, height)`` of the tensor that ``detect`` takes."""

    @abstractmethod
    def detect(self, tensor: np.ndarray, min_score: float = MIN_SCORE) -> list[Detection]:
        """Objects in ``tensor`` (RGB uint8, shape ``(height, width, 3)`` = ``input_size``)
        scoring at least ``min_score``, best first."""

    def check_tensor(self, tensor: np.ndarray) -> None:
        """Raise ValueError unless ``tensor`` is an RGB uint8 array of the input size."""
        width, height = self.input_size
        if tensor.shape != (height, width, 3) or tensor.dtype != np.uint8:
            raise ValueError(f"detector input must be uint8 of shape ({height}, {width}, 3), "
                             f"got {tensor.dtype} of shape {tensor.shape}")
