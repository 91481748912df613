"""The detector interface shared by all backends, and the factory that picks one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_SCORE = 0.4
"""The detector's own score floor (the reference hard-codes it); filters come later."""

KINDS = ("cpu", "edgetpu", "onnx")

ONNX_INSTALL_HINT = "pip install 'nvr[onnx]'"
"""How to get onnxruntime, which only the ``onnx`` detector needs."""


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


def create_detector(kind: str, model_path: str | Path, labels_path: str | Path, *,
                    num_threads: int = 3, device: str = "usb",
                    input_size: tuple[int, int] | None = None) -> Detector:
    """A detector of ``kind`` (``cpu``, ``edgetpu`` or ``onnx``) for the model file.

    ``device`` selects the Edge TPU (``usb``, ``pci``, ``usb:0``...; ``edgetpu`` only).
    ``input_size`` is the tensor size the pipeline will give; ``None`` means the model's own.
    TFLite models take only their own size; the ONNX backend letterboxes any size.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown detector type {kind!r}: expected one of {', '.join(KINDS)}")
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"detector model file not found: {model_path}")
    if kind == "onnx":
        try:
            from nvr.detection.onnx import OnnxDetector
        except ImportError as error:
            raise ImportError(f"the onnx detector needs onnxruntime ({error}): "
                              f"{ONNX_INSTALL_HINT}") from error
        return OnnxDetector(model_path, labels_path, num_threads=num_threads,
                            input_size=input_size)
    from nvr.detection.tflite import TFLiteDetector

    detector = TFLiteDetector(model_path, labels_path, num_threads=num_threads,
                              edgetpu_device=device if kind == "edgetpu" else None)
    if input_size is not None and input_size != detector.input_size:
        raise ValueError(f"{model_path} takes {detector.input_size[0]}x"
                         f"{detector.input_size[1]} input, not {input_size[0]}x{input_size[1]}")
    return detector
