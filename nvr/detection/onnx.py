"""YOLOX-family ONNX models (decoded grid output, no NMS in the graph) on onnxruntime's CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image

from nvr.detection.detector import MIN_SCORE, Detection, Detector
from nvr.detection.labels import load_labels
from nvr.detection.nms import non_max_suppression

STRIDES = (8, 16, 32)
NMS_IOU = 0.45
FILL = 114  # letterbox padding value the YOLOX weights were trained with


class OnnxDetector(Detector):
    """A YOLOX model: BGR NCHW float32 0..255 input letterboxed at the top-left, output rows
    ``[dx, dy, log_w, log_h, objectness, class probabilities...]`` per grid cell.

    ``input_size`` is the RGB tensor the pipeline gives (the model's own size if None); it is
    scaled into the model's input keeping its aspect ratio. Each grid cell votes for its best
    class only, with score = objectness * class probability; per-class NMS follows.
    """

    def __init__(self, model_path: str | Path, labels_path: str | Path, *, num_threads: int = 3,
                 input_size: tuple[int, int] | None = None) -> None:
        self.labels = load_labels(labels_path)
        self._session = onnxruntime.InferenceSession(
            str(model_path), session_options(num_threads), providers=["CPUExecutionProvider"])
        (source,) = self._session.get_inputs()
        (output,) = self._session.get_outputs()
        batch, channels, model_h, model_w = source.shape
        cells = sum((model_h // stride) * (model_w // stride) for stride in STRIDES)
        if (batch, channels) != (1, 3) or list(output.shape[1:2]) != [cells]:
            raise ValueError(f"{model_path} is not a YOLOX model with [1, 3, H, W] input and "
                             f"{cells} output rows for strides {STRIDES}")
        self._grid, self._strides = _grid(model_w, model_h)
        self._size = input_size or (model_w, model_h)
        width, height = self._size
        ratio = min(model_w / width, model_h / height)
        self._scaled = (min(round(width * ratio), model_w), min(round(height * ratio), model_h))
        scaled_w, scaled_h = self._scaled
        self._unscale = np.array([width / scaled_w, height / scaled_h] * 2, np.float32)
        # The padding is written once: each call only overwrites the pasted image.
        self._blob = np.full((1, 3, model_h, model_w), FILL, np.float32)
        self._pasted = self._blob[0, :, :scaled_h, :scaled_w]
        self._feed = {source.name: self._blob}
        self._output_names = [output.name]

    @property
    def input_size(self) -> tuple[int, int]:
        return self._size

    def detect(self, tensor: np.ndarray, min_score: float = MIN_SCORE) -> list[Detection]:
        self.check_tensor(tensor)
        if self._scaled != self._size:
            resized = Image.fromarray(tensor).resize(self._scaled, Image.Resampling.BILINEAR)
            tensor = np.asarray(resized)
        for channel in range(3):  # HWC RGB -> CHW BGR, a third faster than one strided copy
            np.copyto(self._pasted[2 - channel], tensor[:, :, channel])
        rows = self._session.run(self._output_names, self._feed)[0][0]
        # A score is objectness times a probability, so objectness bounds it.
        cells = np.flatnonzero(rows[:, 4] >= min_score)
        probabilities = rows[cells, 5:]
        classes = probabilities.argmax(axis=1)
        scores = rows[cells, 4] * probabilities[np.arange(cells.size), classes]
        good = scores >= min_score
        cells, classes, scores = cells[good], classes[good], scores[good]
        strides = self._strides[cells]
        centres = (rows[cells, :2] + self._grid[cells]) * strides
        half = np.exp(rows[cells, 2:4]) * strides / 2
        boxes = np.hstack([centres - half, centres + half]) * self._unscale
        keep = non_max_suppression(boxes, scores, classes, NMS_IOU)
        return [
            Detection(self.labels.get(class_id, str(class_id)), score, tuple(box))
            for class_id, score, box
            in zip(classes[keep].tolist(), scores[keep].tolist(), boxes[keep].tolist(),
                   strict=True)
        ]


def session_options(num_threads: int) -> onnxruntime.SessionOptions:
    """``num_threads`` intra-op threads that sleep between calls."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    # Spinning workers burn a core between calls (measured: 58 instead of 38 ms of CPU per
    # call with two threads and 20 ms gaps) for no gain in latency; frames come with gaps.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell offsets ``(gx, gy)`` (N x 2) and strides (N x 1) in the model's output row order:
    stride by stride, each grid row-major."""
    offsets, strides = [], []
    for stride in STRIDES:
        gy, gx = np.mgrid[0:height // stride, 0:width // stride]
        offsets.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        strides.append(np.full((gx.size, 1), stride))
    return (np.concatenate(offsets).astype(np.float32),
            np.concatenate(strides).astype(np.float32))
