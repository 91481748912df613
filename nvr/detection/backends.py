"""The factory that picks a detector backend; each backend is imported only when used, so
the optional ones (onnxruntime) are needed only by a detector of their kind."""

from __future__ import annotations

from pathlib import Path

from nvr.detection.detector import Detector

KINDS = ("cpu", "edgetpu", "onnx")

ONNX_INSTALL_HINT = "pip install 'nvr-recorder[onnx]'"
"""How to get onnxruntime, which only the ``onnx`` detector needs."""


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
