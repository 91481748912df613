"""A camera's tracked objects, updated once per processed frame (Frigate 0.8:
docs/compatibility.md#tracking, docs/compatibility.md#object-state)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from nvr.config.schema import CameraConfig, FilterConfig
from nvr.detection.frame import ObjectDetection
from nvr.frames import Box
from nvr.tracking.best import BestObjects
from nvr.tracking.objects import TrackedObject, Zone
from nvr.tracking.tracker import ObjectTracker

DISAPPEARED_SECONDS = 5  # default max_disappeared: this many seconds of frames


@dataclass
class ObjectsUpdate:
    """What one frame changed: objects that became true positives, true positives that
    changed significantly, objects the tracker removed (any kind), and objects whose best
    frame became the best of their label (``best.jpg``)."""

    confirmed: list[TrackedObject] = field(default_factory=list)
    changed: list[TrackedObject] = field(default_factory=list)
    ended: list[TrackedObject] = field(default_factory=list)
    new_best: list[TrackedObject] = field(default_factory=list)


class FrameObserver(Protocol):
    """Told about every processed frame of a camera (the event recorder, MQTT)."""

    def frame_done(self, update: ObjectsUpdate, objects: Iterable[TrackedObject],
                   frame_time: float) -> None:
        """``objects``: every object tracked after the frame. Must not block."""


def max_disappeared(config: CameraConfig) -> int:
    """Frames an object may go unseen before it is removed (default: 5 s worth)."""
    return config.detect.max_disappeared or DISAPPEARED_SECONDS * (config.fps or 5)


class CameraObjects:
    """The objects tracked on one camera and the best one per label."""

    def __init__(self, name: str, config: CameraConfig, zones: tuple[Zone, ...],
                 best: BestObjects) -> None:
        self.name = name
        self.size = config.width, config.height
        self.zones = zones
        self.best = best
        self.thresholds = {label: config.objects.filters.get(label, FilterConfig()).threshold
                           for label in config.objects.track}
        frames = max_disappeared(config)
        self.tracker = ObjectTracker(frames, config.detect.empty_timeout)
        # A still object is re-checked before max_disappeared could end it.
        self.stationary_interval = min(config.detect.stationary_interval,
                                       (frames - 1) / (config.fps or 5))
        self.objects: dict[str, TrackedObject] = {}

    def update(self, frame: np.ndarray, full_range: bool, frame_time: float,
               detections: list[ObjectDetection], searched: Sequence[Box] = ()) -> ObjectsUpdate:
        """Track a processed frame's detections, found in the regions ``searched``, and update
        every object's state."""
        tracked = self.tracker.update(detections, frame_time, searched)
        update = ObjectsUpdate()
        for object_id in tracked.removed:
            obj = self.objects.pop(object_id)
            obj.end(frame_time)
            update.ended.append(obj)
        for object_id, detection in tracked.registered:
            self.objects[object_id] = TrackedObject(object_id, self.name, detection, frame_time,
                                                    self.thresholds[detection.label])
        seen = dict(tracked.matched + tracked.registered)
        not_looked_at = set(tracked.unseen)
        for object_id, obj in self.objects.items():
            was_false_positive = obj.false_positive
            significant = obj.update(seen.get(object_id), frame, full_range, frame_time,
                                     self.zones, self.size,
                                     looked_at=object_id not in not_looked_at)
            if was_false_positive and not obj.false_positive:
                update.confirmed.append(obj)
            elif significant and not obj.false_positive:
                update.changed.append(obj)
            if obj.best is not None and obj.best.time == frame_time and self.best.offer(obj.best):
                update.new_best.append(obj)
        return update

    def end_all(self, frame_time: float) -> list[TrackedObject]:
        """End every tracked object (shutdown); returns them."""
        ended = list(self.objects.values())
        for obj in ended:
            obj.end(frame_time)
        self.objects.clear()
        self.tracker.tracks.clear()
        return ended

    def tracked_boxes(self) -> list[tuple[str, Box]]:
        """The label and box of every tracked object."""
        return [(obj.label, obj.box) for obj in self.objects.values()]

    def due_for_check(self, frame_time: float) -> list[Box]:
        """Boxes of objects to search in this frame even where nothing moves: still objects
        every ``detect.stationary_interval`` s, objects found missing every frame."""
        return self.tracker.due_for_check(frame_time, self.stationary_interval)

    def still_boxes(self, frame_time: float) -> list[Box]:
        """Boxes of still objects whose motion needs no search in this frame."""
        return self.tracker.still_boxes(frame_time, self.stationary_interval)
