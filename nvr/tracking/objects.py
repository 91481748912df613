"""A tracked object's state: score history, false positives, best frame, zones (Frigate 0.8:
docs/compatibility.md#object-state)."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nvr.config.schema import ZoneFilterConfig
from nvr.detection.frame import ObjectDetection
from nvr.frames import Box, Picture

SCORE_HISTORY = 10
MIN_HISTORY = 3  # the history is padded with zeros to this length before taking the median
BETTER_SCORE, BETTER_AREA = 0.05, 1.1


@dataclass(frozen=True, slots=True)
class BestFrame:
    """The frame an object looked best in: a private copy of the I420 frame and the detection.

    Immutable once made, so worker threads may render it while the pipeline goes on.
    """

    buffer: np.ndarray
    width: int
    height: int
    full_range: bool
    time: float
    label: str
    score: float
    box: Box
    area: int
    region: Box

    @property
    def picture(self) -> Picture:
        return Picture(self.buffer, self.width, self.height, self.full_range, self.time)

    def touches_edge(self) -> bool:
        x1, y1, x2, y2 = self.box
        return x1 <= 0 or y1 <= 0 or x2 >= self.width - 1 or y2 >= self.height - 1

    def is_better(self, other: BestFrame) -> bool:
        """Whether ``other`` shows the object better than this: not cut off by the frame edge
        when this is not, and a clearly higher score or larger area
        (docs/compatibility.md#object-state)."""
        if other.touches_edge() and not self.touches_edge():
            return False
        return other.score > self.score + BETTER_SCORE or other.area > self.area * BETTER_AREA


@dataclass(frozen=True)
class Zone:
    """A camera zone as a mask (0 inside the polygon, edges included) and its label filters."""

    name: str
    mask: np.ndarray
    filters: dict[str, ZoneFilterConfig]

    def accepts(self, obj: TrackedObject) -> bool:
        """Whether ``obj`` passes this zone's filter for its label (no filter: everything)."""
        limits = self.filters.get(obj.label)
        if limits is None:
            return True
        return (limits.min_area <= obj.area <= limits.max_area
                and obj.computed_score >= limits.threshold)


class TrackedObject:
    """One object from its first detection to its removal by the tracker."""

    def __init__(self, object_id: str, camera: str, detection: ObjectDetection,
                 frame_time: float, threshold: float) -> None:
        self.id, self.camera, self.label = object_id, camera, detection.label
        self.start_time = frame_time
        self.end_time: float | None = None
        self.threshold = threshold
        # Filled by update(), which also runs in the frame that registered the object.
        self.score_history: deque[float] = deque(maxlen=SCORE_HISTORY)
        self.computed_score = self.top_score = 0.0
        self.false_positive = True
        self.best: BestFrame | None = None
        self.current_zones: list[str] = []
        self.entered_zones: list[str] = []
        self._see(detection, frame_time)

    def _see(self, detection: ObjectDetection, frame_time: float) -> None:
        self.score, self.box, self.area = detection.score, detection.box, detection.area
        self.region = detection.region
        self.frame_time = frame_time
        self.detected = True

    def update(self, detection: ObjectDetection | None, frame: np.ndarray, full_range: bool,
               frame_time: float, zones: tuple[Zone, ...], size: tuple[int, int], *,
               looked_at: bool = True) -> bool:
        """Apply one frame (``detection`` None: not seen in it); True if the change is
        significant (a better best frame, or other zones for a true positive).

        A frame that did not look at the object (``looked_at`` False: no region held it)
        leaves its score history alone: it is no evidence either way."""
        if detection is not None:
            self._see(detection, frame_time)
            self.score_history.append(detection.score)
        else:
            self.detected = False
            if looked_at:
                self.score_history.append(0.0)
        history = list(self.score_history)
        self.computed_score = statistics.median(history + [0.0] * (MIN_HISTORY - len(history)))
        self.top_score = max(self.top_score, self.computed_score)
        if self.computed_score >= self.threshold:
            self.false_positive = False
        significant = detection is not None and self._offer_best(detection, frame, full_range,
                                                                frame_time, size)
        zones_now = self._zones(zones, size)
        if zones_now != self.current_zones:
            significant = significant or not self.false_positive
            self.current_zones = zones_now
        self.entered_zones.extend(z for z in zones_now if z not in self.entered_zones)
        return significant

    def _offer_best(self, detection: ObjectDetection, frame: np.ndarray, full_range: bool,
                    frame_time: float, size: tuple[int, int]) -> bool:
        if self.false_positive:
            return False
        candidate = BestFrame(frame, size[0], size[1], full_range, frame_time, self.label,
                              detection.score, detection.box, detection.area, detection.region)
        if self.best is not None and not self.best.is_better(candidate):
            return False
        # Copied only once it is kept: the pipeline reuses its frame buffers.
        self.best = replace(candidate, buffer=frame.copy())
        return True

    def _zones(self, zones: tuple[Zone, ...], size: tuple[int, int]) -> list[str]:
        """Zones the object is in: its bottom-centre point inside, and either already in the
        zone on the previous frame or passing the zone's filter."""
        x = min(max((self.box[0] + self.box[2]) // 2, 0), size[0] - 1)
        y = min(max(self.box[3], 0), size[1] - 1)
        return [zone.name for zone in zones if zone.mask[y, x] == 0
                and (zone.name in self.current_zones or zone.accepts(self))]

    def end(self, frame_time: float) -> None:
        """The tracker removed the object in the frame of ``frame_time``."""
        self.end_time = frame_time

    def as_dict(self) -> dict[str, Any]:
        """The object as ``<prefix>/events`` and ``/api/<camera>/objects`` show it (every key
        always present; ``thumbnail`` is null)."""
        return {
            "id": self.id,
            "camera": self.camera,
            "frame_time": self.frame_time,
            "label": self.label,
            "top_score": self.top_score,
            "false_positive": self.false_positive,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "score": self.score,
            "box": list(self.box),
            "area": self.area,
            "region": list(self.region),
            "current_zones": list(self.current_zones),
            "entered_zones": list(self.entered_zones),
            "thumbnail": None,
        }
