"""Greedy per-class non-maximum suppression, shared by the ONNX backend and frame detection."""

from __future__ import annotations

import numpy as np


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray,
                        iou_limit: float) -> np.ndarray:
    """Indices of the boxes kept by greedy per-class NMS, best score first.

    A box is dropped when it overlaps a better kept box of the same class by IoU > ``iou_limit``.
    """
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[order].T
    classes = classes[order]
    widths = np.clip(np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1), 0, None)
    heights = np.clip(np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1), 0, None)
    overlap = widths * heights
    areas = (x2 - x1) * (y2 - y1)
    iou = overlap / (areas[:, None] + areas - overlap)
    suppresses = np.triu((iou > iou_limit) & (classes[:, None] == classes), k=1)
    dropped = np.zeros(order.size, bool)
    for index in range(order.size):
        if not dropped[index]:
            dropped |= suppresses[index]
    return order[~dropped]
