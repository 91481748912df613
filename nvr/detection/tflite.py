"""SSD TFLite models ending in the ``TFLite_Detection_PostProcess`` op, on CPU or Edge TPU."""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter, load_delegate
except ImportError:  # the older package, same API
    from tflite_runtime.interpreter import Interpreter, load_delegate

from nvr.detection.detector import MIN_SCORE, Detection, Detector
from nvr.detection.labels import load_labels

log = logging.getLogger(__name__)

EDGETPU_LIBRARY = "libedgetpu.so.1"


def load_edgetpu_delegate(device: str) -> tuple[object | None, str]:
    """The Edge TPU delegate for ``device`` (``""``: any) and None, or None and why not."""
    try:
        # Open the library ourselves first: when it is missing, load_delegate leaves a
        # half-built Delegate whose __del__ prints a traceback to stderr.
        ctypes.CDLL(EDGETPU_LIBRARY)
        return load_delegate(EDGETPU_LIBRARY, {"device": device} if device else {}), ""
    except (OSError, ValueError) as error:
        return None, " ".join(str(error).split())


def edgetpu_delegate(device: str) -> object | None:
    """The Edge TPU delegate for ``device``, or None (with one warning) when it cannot load."""
    delegate, reason = load_edgetpu_delegate(device)
    if delegate is None:
        log.warning("Edge TPU %r not available (%s): running the detector on the CPU",
                    device, reason)
    return delegate


class TFLiteDetector(Detector):
    """An SSD model with uint8 NHWC RGB input and the post-process op's four outputs
    (boxes ``[ymin, xmin, ymax, xmax]`` normalised, classes, scores, count).

    With ``edgetpu_device`` set, runs on that Edge TPU, or on the CPU if it cannot load;
    ``edgetpu`` says which.
    """

    def __init__(self, model_path: str | Path, labels_path: str | Path, *, num_threads: int = 3,
                 edgetpu_device: str | None = None) -> None:
        self.labels = load_labels(labels_path)
        delegate = None if edgetpu_device is None else edgetpu_delegate(edgetpu_device)
        self.edgetpu = delegate is not None
        try:
            self._interpreter = Interpreter(
                model_path=str(model_path), num_threads=num_threads,
                experimental_delegates=[delegate] if delegate is not None else None)
            self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as error:
            raise ValueError(f"cannot load TFLite model {model_path}: {error}") from error
        (source,) = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        batch, height, width, channels = source["shape"]
        if (batch, channels) != (1, 3) or source["dtype"] != np.uint8 or len(outputs) != 4:
            raise ValueError(f"{model_path} is not an SSD model with uint8 [1, H, W, 3] input "
                             "and the detection post-process op")
        self._size = (int(width), int(height))
        self._scale = np.array([height, width, height, width], np.float32)
        # A callable returning a fresh view: holding a view across invoke() is refused.
        self._input = self._interpreter.tensor(source["index"])
        self._boxes, self._classes, self._scores = (output["index"] for output in outputs[:3])

    @property
    def input_size(self) -> tuple[int, int]:
        return self._size

    def detect(self, tensor: np.ndarray, min_score: float = MIN_SCORE) -> list[Detection]:
        self.check_tensor(tensor)
        self._input()[0] = tensor
        self._interpreter.invoke()
        get = self._interpreter.get_tensor
        scores = get(self._scores)[0]
        count = int(np.count_nonzero(scores >= min_score))  # scores come sorted
        if not count:
            return []
        boxes = (get(self._boxes)[0, :count] * self._scale).tolist()
        classes = get(self._classes)[0, :count].astype(int).tolist()
        return [
            Detection(self.labels.get(class_id, str(class_id)), score, (x1, y1, x2, y2))
            for class_id, score, (y1, x1, y2, x2)
            in zip(classes, scores[:count].tolist(), boxes, strict=True)
        ]
