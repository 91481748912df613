"""Object detection in one frame: regions, filters, NMS and refinement (Frigate 0.8:
docs/compatibility.md#regions, docs/compatibility.md#detection).

Differences from Frigate 0.8, on purpose: ``min_score`` is the score floor the user set (the
Frigate 0.8's NMS silently raised it to 0.5), and a label's object mask is the camera's
``objects.mask`` combined with the label's own ``mask``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
import trio

from nvr._fast.regions import crop_to_tensor, region_for_box, select_regions
from nvr.config.polygons import parse_mask
from nvr.config.schema import CameraConfig, FilterConfig
from nvr.detection.detector import MIN_SCORE, Detection
from nvr.detection.nms import non_max_suppression
from nvr.frames import Box, planes
from nvr.masks import polygon_mask

NMS_IOU = 0.4
MAX_REFINEMENTS = 4
CLIP_MARGIN = 5  # px: a box edge this close to its region's edge is cut off by the region
REFINE_MULTIPLIER = 2.0
MIN_FLOOR = 0.01
STILL_MARGIN = 0.1  # motion this far (a share of the box) around a still object is its own

DetectFunction = Callable[[np.ndarray, float], Awaitable[list[Detection]]]


@dataclass(frozen=True, slots=True)
class ObjectDetection:
    """A detection in frame pixels, with the region it was found in."""

    label: str
    score: float
    box: Box
    area: int
    region: Box


def touches(a: Box, b: Box) -> bool:
    """Whether two boxes intersect, touching edges included."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _inside(inner: Box, outer: Box) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2]
            and inner[3] <= outer[3])


def _grown(box: Box, share: float) -> Box:
    dx, dy = round((box[2] - box[0]) * share), round((box[3] - box[1]) * share)
    return box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy


@dataclass
class DetectorCalls:
    """A camera's detector calls so far, and how many found nothing it tracks."""

    calls: int = 0
    empty: int = 0

    def add(self, found: bool) -> None:
        self.calls += 1
        self.empty += not found


class FrameDetector:
    """Finds the tracked labels in a camera's frames, only where there is motion.

    ``detect`` is the detector call (a pool's ``detect``); ``on_call`` is told about each call
    and whether it found a tracked label (the camera's ``detection_fps`` and call counts).
    """

    def __init__(self, config: CameraConfig, detect: DetectFunction,
                 input_size: tuple[int, int],
                 on_call: Callable[[bool], None] = lambda found: None) -> None:
        self.width, self.height = config.width, config.height
        self._detect, self._on_call = detect, on_call
        self._side = input_size[0]
        if input_size[1] != self._side:
            raise ValueError(f"the model input must be square, got {input_size}")
        self._tensors: list[np.ndarray] = []
        objects = config.objects
        self.tracked_labels = frozenset(objects.track)
        self.filters = {label: objects.filters.get(label, FilterConfig())
                        for label in objects.track}
        # Above 0: the models pad their output with rows of score 0.
        self.score_floor = max(MIN_FLOOR, min([MIN_SCORE, *(f.min_score
                                                           for f in self.filters.values())]))
        self.masks = {
            label: polygon_mask(self.width, self.height,
                                parse_mask(objects.mask) + parse_mask(self.filters[label].mask))
            for label in objects.track
        }

    async def detect(self, frame: np.ndarray, motion: Sequence[Box],
                     tracked: Sequence[tuple[str, Box]], recheck: Sequence[Box] = (),
                     still: Sequence[Box] = ()) -> tuple[list[ObjectDetection], list[Box]]:
        """Detections in the I420 ``frame`` and the regions searched.

        ``motion`` are the frame's motion boxes, ``tracked`` the label and box of each tracked
        object (its box searched where it touches motion), ``recheck`` boxes of tracked
        objects to search even without motion (``CameraObjects.due_for_check``) and ``still``
        boxes of still objects, motion inside which is the object itself and not searched.
        With nothing left to search no detector is called. A failed detector call raises
        (DetectorError from the pool): the frame's detections are unknown.
        """
        motion = [box for box in motion if not any(_inside(box, _grown(quiet, STILL_MARGIN))
                                                   for quiet in still)]
        wanted = [*motion, *recheck]
        if not wanted:
            return [], []
        regions = select_regions(wanted, [box for _, box in tracked], self.width, self.height)
        detections = await self._detect_in(frame, regions)
        for refinement in range(MAX_REFINEMENTS + 1):
            detections = self._suppress_duplicates(detections)
            clipped = [d for d in detections if self._clipped(d)]
            if not clipped or refinement == MAX_REFINEMENTS:
                break
            # A box cut off by its region's edge is searched again in a region around it.
            detections = [d for d in detections if d not in clipped]
            refined = [region_for_box(d.box, self.width, self.height, REFINE_MULTIPLIER)
                       for d in clipped]
            regions.extend(refined)
            detections.extend(await self._detect_in(frame, refined))
        return self.kept(detections, motion, tracked), regions

    @staticmethod
    def kept(detections: list[ObjectDetection], motion: Sequence[Box],
             tracked: Sequence[tuple[str, Box]]) -> list[ObjectDetection]:
        """``detections`` less still background (a parked car): what touches neither motion
        nor a tracked object of its label is not a new object."""
        return [d for d in detections if any(touches(d.box, box) for box in motion)
                or any(label == d.label and touches(d.box, box) for label, box in tracked)]

    async def _detect_in(self, frame: np.ndarray, regions: Sequence[Box]) -> list[ObjectDetection]:
        while len(self._tensors) < len(regions):
            self._tensors.append(np.empty((self._side, self._side, 3), np.uint8))
        tensors = self._tensors[:len(regions)]
        await trio.to_thread.run_sync(self._crop, frame, regions, tensors)
        found = []
        for region, tensor in zip(regions, tensors, strict=True):
            kept = [detection for detection in (
                self._in_frame(raw, region) for raw in await self._detect(tensor, self.score_floor))
                if detection is not None]
            self._on_call(bool(kept))
            found.extend(kept)
        return found

    def _crop(self, frame: np.ndarray, regions: Sequence[Box],
              tensors: Sequence[np.ndarray]) -> None:
        y, u, v = planes(frame, self.width, self.height)
        for region, tensor in zip(regions, tensors, strict=True):
            crop_to_tensor(y, u, v, region, tensor)

    def _in_frame(self, detection: Detection, region: Box) -> ObjectDetection | None:
        """``detection`` in frame pixels if it passes the label's filters, else None."""
        label = detection.label
        if label not in self.tracked_labels:
            return None
        size = region[2] - region[0]
        scale = size / self._side
        x1, y1, x2, y2 = detection.box
        box = (int(x1 * scale + region[0]), int(y1 * scale + region[1]),
               int(x2 * scale + region[0]), int(y2 * scale + region[1]))
        area = (box[2] - box[0]) * (box[3] - box[1])
        limits = self.filters[label]
        if (area <= 0 or not limits.min_area <= area <= limits.max_area
                or detection.score < limits.min_score):
            return None
        mask = self.masks[label]
        if mask is not None:
            # The point the object stands on: bottom centre of its box.
            x = min(max(box[0] + (box[2] - box[0]) // 2, 0), self.width - 1)
            y = min(max(box[3], 0), self.height - 1)
            if mask[y, x] == 0:
                return None
        return ObjectDetection(label, detection.score, box, area, region)

    def _suppress_duplicates(self, detections: list[ObjectDetection]) -> list[ObjectDetection]:
        """Per-label non-maximum suppression, best score first."""
        if len(detections) < 2:
            return detections
        boxes = np.array([d.box for d in detections], np.float64)
        scores = np.array([d.score for d in detections])
        labels = np.array([d.label for d in detections])
        return [detections[i] for i in non_max_suppression(boxes, scores, labels, NMS_IOU)]

    def _clipped(self, detection: ObjectDetection) -> bool:
        """Whether a side of the box lies on a side of its region that is inside the frame."""
        box, region = detection.box, detection.region
        inside = (region[0] > CLIP_MARGIN, region[1] > CLIP_MARGIN,
                  self.width - region[2] > CLIP_MARGIN, self.height - region[3] > CLIP_MARGIN)
        return any(inside[side] and abs(box[side] - region[side]) <= CLIP_MARGIN
                   for side in range(4))
