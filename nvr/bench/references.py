"""The implementations nvr's kernels are measured against: OpenCV, NumPy and Pillow.

OpenCV is optional (the ``bench`` extra): ``opencv()`` says whether it is there, and
``OpenCVMotionDetector`` needs it. The NumPy + Pillow references always work.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from nvr.frames import Box, Planes

WARM_UP_FRAMES = 30
"""Frames the motion detectors only learn from before they report motion."""


def opencv() -> ModuleType | None:
    """The ``cv2`` module, or None when OpenCV is not installed."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


class OpenCVMotionDetector:
    """Frigate 0.8's motion detection (docs/compatibility.md#motion) written with OpenCV calls
    (float32 state, contour areas)."""

    def __init__(self, width: int, height: int, *, frame_height: int, threshold: int = 25,
                 contour_area: int = 100, delta_alpha: float = 0.2,
                 frame_alpha: float = 0.2) -> None:
        cv2 = opencv()
        if cv2 is None:
            raise ImportError("the OpenCV motion reference needs opencv-python-headless: "
                              "pip install 'nvr-recorder[bench]'")
        self.cv2: Any = cv2
        self.size = (frame_height * width // height, frame_height)
        self.scale = height / frame_height
        self.threshold = threshold
        self.contour_area = contour_area
        self.delta_alpha, self.frame_alpha = delta_alpha, frame_alpha
        self.avg_frame = np.zeros(self.size[::-1], np.float32)
        self.avg_delta = np.zeros(self.size[::-1], np.float32)
        self.frame_counter = 0
        self.motion_frame_count = 0

    def detect(self, luma: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Motion boxes of one Y plane, in full-resolution pixels."""
        cv2 = self.cv2
        small = cv2.resize(luma, self.size, interpolation=cv2.INTER_LINEAR)
        boxes = []
        if self.frame_counter < WARM_UP_FRAMES:
            self.frame_counter += 1
        else:
            delta = cv2.absdiff(small, cv2.convertScaleAbs(self.avg_frame))
            cv2.accumulateWeighted(delta, self.avg_delta, self.delta_alpha)
            _, current = cv2.threshold(delta, self.threshold, 255, cv2.THRESH_BINARY)
            changing = cv2.bitwise_and(cv2.convertScaleAbs(self.avg_delta), current)
            _, thresh = cv2.threshold(changing, self.threshold, 255, cv2.THRESH_BINARY)
            thresh = cv2.dilate(thresh, None, iterations=2)
            contours, _ = cv2.findContours(thresh, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                if cv2.contourArea(contour) > self.contour_area:
                    x, y, w, h = cv2.boundingRect(contour)
                    boxes.append((int(x * self.scale), int(y * self.scale),
                                  int((x + w) * self.scale), int((y + h) * self.scale)))
        if boxes:
            self.motion_frame_count += 1
            if self.motion_frame_count >= 10:
                cv2.accumulateWeighted(small, self.avg_frame, self.frame_alpha)
        else:
            cv2.accumulateWeighted(small, self.avg_frame, self.frame_alpha)
            self.motion_frame_count = 0
        return boxes


def _padded(plane: np.ndarray, x1: int, y1: int, x2: int, y2: int, black: int) -> np.ndarray:
    """plane[y1:y2, x1:x2] with the part outside the plane filled with ``black``."""
    out = np.full((y2 - y1, x2 - x1), black, np.uint8)
    height, width = plane.shape
    top, left = max(y1, 0), max(x1, 0)
    bottom, right = min(y2, height), min(x2, width)
    if top < bottom and left < right:
        out[top - y1:bottom - y1, left - x1:right - x1] = plane[top:bottom, left:right]
    return out


def numpy_pillow_crop(frame: Planes, region: Box, size: int) -> np.ndarray:
    """``crop_to_tensor``'s job done with NumPy and Pillow (nearest chroma upsampling,
    Pillow's full-range YCbCr conversion, bilinear resize to ``size`` x ``size``)."""
    x1, y1, x2, y2 = region
    luma = _padded(frame.y, x1, y1, x2, y2, 16)
    cx1, cy1 = x1 // 2, y1 // 2
    cx2, cy2 = (x2 + 1) // 2, (y2 + 1) // 2
    dx, dy = x1 - 2 * cx1, y1 - 2 * cy1

    def upsampled(plane: np.ndarray) -> np.ndarray:
        half = _padded(plane, cx1, cy1, cx2, cy2, 128)
        return half.repeat(2, 0).repeat(2, 1)[dy:dy + y2 - y1, dx:dx + x2 - x1]

    ycbcr = np.dstack([luma, upsampled(frame.u), upsampled(frame.v)])
    image = Image.fromarray(ycbcr, "YCbCr").convert("RGB")
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))


def pillow_resize(frame: Planes, width: int, height: int) -> Planes:
    """The planes resized to ``width`` x ``height`` by Pillow's area-average (BOX) filter."""
    sizes = [(width, height), *[((width + 1) // 2, (height + 1) // 2)] * 2]
    return Planes(*(np.asarray(Image.fromarray(plane).resize(size, Image.Resampling.BOX))
                    for plane, size in zip(frame, sizes, strict=True)))
