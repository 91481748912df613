"""What one frame of a camera shows: motion, detection where it moved, then tracking."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trio

from nvr._fast.motion import MotionDetector
from nvr.capture.pool import Frame
from nvr.config.polygons import parse_mask, parse_zone_coordinates
from nvr.config.schema import CameraConfig
from nvr.detection.frame import FrameDetector, ObjectDetection
from nvr.detection.workers import DetectorError
from nvr.frames import Box, planes
from nvr.masks import polygon_mask
from nvr.render.event_images import RGB
from nvr.render.overlays import TrackedBox, ZoneOutline, zone_colors
from nvr.tracking.best import BestObjects
from nvr.tracking.objects import Zone
from nvr.tracking.state import CameraObjects, FrameObserver


@dataclass(frozen=True)
class ProcessedFrame:
    """A frame that went through the pipeline, with what was found in it."""

    frame: Frame
    motion: tuple[Box, ...]
    regions: tuple[Box, ...]
    objects: tuple[TrackedBox, ...] = ()
    active_zones: frozenset[str] = frozenset()


class FrameProcessor:
    """Motion, detection and tracking for the frames of one camera, and what it tracks.

    ``objects`` are the tracked objects, ``best`` the best image per label; ``motion_mask``
    and ``zone_outlines`` are what the live view draws.
    """

    def __init__(self, name: str, config: CameraConfig, label_color: Callable[[str], RGB],
                 best_folder: Path | None) -> None:
        self.width, self.height = config.width, config.height
        self.label_color = label_color
        motion = config.motion
        self.motion_mask = polygon_mask(self.width, self.height, parse_mask(motion.mask))
        self._motion = MotionDetector(
            self.width, self.height, frame_height=motion.frame_height,
            threshold=motion.threshold, contour_area=motion.contour_area,
            delta_alpha=motion.delta_alpha, frame_alpha=motion.frame_alpha,
            mask=self.motion_mask,
        )
        colors = zone_colors(len(config.zones))
        self.zone_outlines = tuple(
            ZoneOutline(zone_name, parse_zone_coordinates(zone.coordinates), color, False)
            for (zone_name, zone), color in zip(config.zones.items(), colors, strict=True)
        )
        zones = tuple(
            Zone(outline.name, self._zone_mask(outline), zone.filters)
            for outline, zone in zip(self.zone_outlines, config.zones.values(), strict=True)
        )
        self.best = BestObjects(best_folder, config.best_image_timeout)
        self.objects = CameraObjects(name, config, zones, self.best)

    def _zone_mask(self, outline: ZoneOutline) -> np.ndarray:
        mask = polygon_mask(self.width, self.height, [outline.points])
        assert mask is not None  # a zone has a polygon
        return mask

    def motion_boxes(self, frame: Frame) -> tuple[Box, ...]:
        """Motion in one frame (a worker thread: the kernel releases the GIL)."""
        return tuple(self._motion.detect(planes(frame.buffer, self.width, self.height).y))

    async def process(self, frame: Frame, detector: FrameDetector | None,
                      observers: Sequence[FrameObserver]) -> ProcessedFrame:
        """What ``frame`` shows; the tracked objects are updated and ``observers`` told.

        ``detector`` is None when the camera does not detect: every frame is then empty,
        and objects age out. A failed detector call leaves the objects as they are.
        """
        motion: tuple[Box, ...] = ()
        regions: list[Box] = []
        detections: list[ObjectDetection] | None = []
        if detector is not None:
            motion = await trio.to_thread.run_sync(self.motion_boxes, frame)
            try:
                detections, regions = await detector.detect(
                    frame.buffer, motion, self.objects.tracked_boxes(),
                    recheck=self.objects.due_for_check(frame.time),
                    still=self.objects.still_boxes(frame.time))
            except DetectorError:
                # Logged by the pool. What the frame shows is unknown: leave the objects
                # as they are rather than count them unseen (and end their events).
                detections = None
        if detections is not None:
            update = self.objects.update(frame.buffer, frame.full_range, frame.time, detections,
                                         regions)
            for observer in observers:
                observer.frame_done(update, self.objects.objects.values(), frame.time)
        tracked = tuple(
            TrackedBox(obj.label, obj.score, obj.area, obj.box, self.label_color(obj.label),
                       obj.detected)
            for obj in self.objects.objects.values()
        )
        active = frozenset(zone for obj in self.objects.objects.values()
                           for zone in obj.current_zones)
        return ProcessedFrame(frame, motion, tuple(regions), tracked, active)
