"""Object detectors: SSD TFLite models on CPU or Edge TPU, and YOLOX ONNX models.

The backends themselves live in ``nvr.detection.tflite`` and ``nvr.detection.onnx``; they are
imported only when ``create_detector`` (``nvr.detection.backends``) needs them, so
onnxruntime stays optional.
"""

from nvr.detection.backends import KINDS, create_detector
from nvr.detection.detector import MIN_SCORE, Detection, Detector
from nvr.detection.labels import load_labels

__all__ = ["KINDS", "MIN_SCORE", "Detection", "Detector", "create_detector", "load_labels"]
