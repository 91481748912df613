"""One camera: capture, per-frame processing (motion, detection, tracking, events) and the
state the API reads."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import trio

from nvr._fast.motion import MotionDetector
from nvr.capture.pool import Frame, FramePool
from nvr.capture.supervisor import supervise_capture
from nvr.config.ffmpeg import FfmpegCommand, camera_commands
from nvr.config.polygons import parse_mask, parse_zone_coordinates
from nvr.config.schema import CameraConfig, MediaConfig
from nvr.detection.frame import FrameDetector
from nvr.detection.workers import DetectorError, DetectorPool
from nvr.events.images import RGB, LiveEvent
from nvr.events.recorder import EventRecorder
from nvr.events.store import EventStore
from nvr.frames import Box, planes
from nvr.masks import polygon_mask
from nvr.rates import RateCounter
from nvr.recording.event_clips import EventClips
from nvr.recording.segments import SegmentCache
from nvr.recording.writer import supervise_writer
from nvr.render import TAB10, Overlays, TrackedBox, ZoneOutline, render_jpeg, zone_colors
from nvr.shared_renders import SharedRenders
from nvr.tasks import restart_forever, run_every
from nvr.tracking.best import BestObjects
from nvr.tracking.objects import Zone
from nvr.tracking.state import CameraObjects

log = logging.getLogger(__name__)

BEST_SAVE_TIMEOUT = 5.0  # s the last best images may take to write at shutdown


@dataclass(frozen=True)
class OverlayFlags:
    """Which overlays a latest.jpg or MJPEG viewer asked for."""

    bbox: bool = False
    timestamp: bool = False
    zones: bool = False
    mask: bool = False
    motion: bool = False
    regions: bool = False


@dataclass(frozen=True)
class ProcessedFrame:
    """A frame that went through the pipeline, with what was found in it."""

    frame: Frame
    motion: tuple[Box, ...]
    regions: tuple[Box, ...]
    objects: tuple[TrackedBox, ...] = ()
    active_zones: frozenset[str] = frozenset()


class Camera:
    """A camera's pipeline and live state.

    Capture hands each frame to ``deliver``; if the processor has not taken the previous
    one yet, that one is dropped and counted in ``skipped_fps``. The processor finds motion,
    detects objects where it is, tracks them and queues event writes; it publishes the
    result as ``latest``, which the HTTP handlers render.
    """

    def __init__(self, name: str, config: CameraConfig, media: MediaConfig,
                 stall_timeout: float, *,
                 label_color: Callable[[str], RGB] = lambda label: TAB10[0],
                 best_folder: Path | None = None, clips_max_seconds: float = 300.0) -> None:
        self.name = name
        self.config = config
        self.media = media
        self.width, self.height = config.width, config.height
        self.stall_timeout = stall_timeout
        self.label_color = label_color
        self.clips_max_seconds = clips_max_seconds
        commands = camera_commands(name, config, media)
        [self.detect_command] = [command for command in commands if "detect" in command.roles]
        # Processes with only file outputs: segments for clips and 24/7 recordings.
        self.writer_commands = [command for command in commands if "detect" not in command.roles]
        has_clips_input = any("clips" in command.roles for command in commands)
        self.cache = SegmentCache(name, media.cache) if has_clips_input else None
        self.pool = FramePool(self.width, self.height)
        self.latest: ProcessedFrame | None = None
        self.capture_pid = 0
        self.camera_fps, self.process_fps = RateCounter(), RateCounter()
        self.skipped_fps, self.detection_fps = RateCounter(), RateCounter()
        self.renders = SharedRenders()
        self.viewers = 0
        self._pending: Frame | None = None
        self._arrived = trio.Event()
        self._frames_processed = 0
        self._recorder: EventRecorder | None = None
        self._clips: EventClips | None = None

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
            Zone(outline.name, polygon_mask(self.width, self.height, [outline.points]),
                 zone.filters)
            for outline, zone in zip(self.zone_outlines, config.zones.values(), strict=True)
        )
        self.best = BestObjects(best_folder, config.best_image_timeout)
        self.objects = CameraObjects(name, config, zones, self.best)

    # Capture side (event loop) -------------------------------------------------------

    def deliver(self, frame: Frame) -> None:
        """Take a newly read frame, dropping the one still waiting, if any."""
        self.camera_fps.add()
        dropped, self._pending = self._pending, frame
        if dropped is not None:
            dropped.release()
            self.skipped_fps.add()
        self._arrived.set()

    def _set_capture_pid(self, pid: int) -> None:
        self.capture_pid = pid
        if pid == 0 and self.cache is not None and "clips" in self.detect_command.roles:
            self.cache.writer_stopped()  # the detect ffmpeg also wrote the segments

    # Processing ----------------------------------------------------------------------

    async def _next_frame(self) -> Frame:
        while self._pending is None:
            self._arrived = trio.Event()
            await self._arrived.wait()
        frame, self._pending = self._pending, None
        return frame

    def _motion_boxes(self, frame: Frame) -> tuple[Box, ...]:
        """Motion in one frame (a worker thread: the kernel releases the GIL)."""
        return tuple(self._motion.detect(planes(frame.buffer, self.width, self.height).y))

    async def _process_frames(self, detector: FrameDetector | None,
                              recorder: EventRecorder) -> None:
        while True:
            frame = await self._next_frame()
            # Never reset, not even by a pipeline restart: renders are keyed by it.
            frame.index, self._frames_processed = self._frames_processed, self._frames_processed + 1
            try:
                processed = await self._process(frame, detector, recorder)
            except BaseException:
                frame.release()
                raise
            self._publish(processed)

    async def _process(self, frame: Frame, detector: FrameDetector | None,
                       recorder: EventRecorder) -> ProcessedFrame:
        motion: tuple[Box, ...] = ()
        regions: list[Box] = []
        if detector is not None:
            motion = await trio.to_thread.run_sync(self._motion_boxes, frame)
            try:
                detections, regions = await detector.detect(frame.buffer, motion,
                                                            self.objects.tracked_boxes())
            except DetectorError:
                # Logged by the pool. What the frame shows is unknown: leave the objects
                # as they are rather than count them unseen (and end their events).
                detections = None
            self.process_fps.add()
        else:
            detections = []  # with detection off every frame is empty: objects age out
        if detections is not None:
            update = self.objects.update(frame.buffer, frame.full_range, frame.time, detections)
            recorder.frame_done(update, self.objects.objects.values(), frame.time)
        tracked = tuple(
            TrackedBox(obj.label, obj.score, obj.area, obj.box, self.label_color(obj.label),
                       obj.detected)
            for obj in self.objects.objects.values()
        )
        active = frozenset(zone for obj in self.objects.objects.values()
                           for zone in obj.current_zones)
        return ProcessedFrame(frame, motion, tuple(regions), tracked, active)

    def _publish(self, processed: ProcessedFrame) -> None:
        previous, self.latest = self.latest, processed
        if previous is not None:
            previous.frame.release()

    async def _save_best(self) -> None:
        """Write the new best images to disk (they survive a restart)."""
        await trio.to_thread.run_sync(self.best.save, self.best.take_unsaved())

    async def run(self, detectors: DetectorPool | None, store: EventStore) -> None:
        """Capture, process and record until cancelled; ``detectors`` is None when this camera
        does not detect.

        Each part (the pipeline, the event recorder, clip building, best-image saving, the
        segment writers) is retried on its own after any failure (``nvr.tasks``), so a crash
        restarts that part of this camera alone; only cancellation propagates.
        """
        await trio.to_thread.run_sync(self.best.load, self.width, self.height)
        clips = None
        if self.cache is not None:
            clips = self._clips = EventClips(self.name, self.config, self.media.clips,
                                             self.cache, store, self.clips_max_seconds)
        recorder = self._recorder = EventRecorder(self.name, self.config, self.media.clips,
                                                  store, self.label_color, clips)
        detector = None
        if detectors is not None and self.config.detect.enabled:
            detector = FrameDetector(self.config, detectors.detect, detectors.input_size,
                                     self.detection_fps.add)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(restart_forever, f"{self.name}: event recorder", recorder.run)
                nursery.start_soon(run_every, f"{self.name}: saving best images", 1.0,
                                   self._save_best)
                if clips is not None:
                    nursery.start_soon(restart_forever, f"{self.name}: clips", clips.run)
                for command in self.writer_commands:
                    nursery.start_soon(self._supervise_writer, command)
                await restart_forever(f"{self.name}: camera pipeline",
                                      partial(self._run_pipeline, detector, recorder))
        finally:
            last_time = self.latest.frame.time if self.latest is not None else 0.0
            await recorder.finish(self.objects.end_all(last_time), last_time)
            # Bounded: a hung disk must not hold the shutdown up (the thread is left behind).
            with trio.move_on_after(BEST_SAVE_TIMEOUT, shield=True):
                await trio.to_thread.run_sync(self.best.save, self.best.take_unsaved(),
                                              abandon_on_cancel=True)

    async def _supervise_writer(self, command: FfmpegCommand) -> None:
        cache = self.cache if "clips" in command.roles else None
        await supervise_writer(self.name, command,
                               cache.writer_stopped if cache is not None else lambda: None)

    def segments_needed_from(self, now: float, max_seconds: float) -> float:
        """Epoch from which this camera's cached segments may still go into a clip: the
        earliest open event's start minus pre-capture (else now), but not more than
        ``max_seconds`` back; and whatever a clip being built reads (its window was capped
        when it was queued)."""
        starts = [obj.start_time - self.config.clips.pre_capture
                  for obj in self.objects.objects.values()]
        if self._recorder is not None:
            starts += [obj.start_time - self.config.clips.pre_capture
                       for obj in self._recorder.ending.values()]
        needed = max(min(starts, default=now), now - max_seconds)
        if self._clips is not None:
            needed = min([needed, *self._clips.pending.values()])
        return needed

    async def _run_pipeline(self, detector: FrameDetector | None,
                            recorder: EventRecorder) -> None:
        # What raises here is a bug, not a camera fault (the capture supervisor has those).
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                supervise_capture, self.name, self.detect_command, self.pool,
                self.stall_timeout, self.deliver, self._set_capture_pid,
            )
            nursery.start_soon(self._process_frames, detector, recorder)

    # Reading (HTTP) ------------------------------------------------------------------

    def live_event(self, event_id: str) -> LiveEvent | None:
        """The tracked (or ended but not yet written) object ``event_id``, if any."""
        obj = self.objects.objects.get(event_id)
        if obj is None and self._recorder is not None:
            obj = self._recorder.ending.get(event_id)
        return None if obj is None else LiveEvent(obj, self.label_color(obj.label))

    def overlays(self, processed: ProcessedFrame, flags: OverlayFlags) -> Overlays:
        """What to draw on ``processed`` for a viewer who asked for ``flags``."""
        zones = ()
        if flags.zones:
            zones = tuple(
                ZoneOutline(zone.name, zone.points, zone.color, zone.name in processed.active_zones)
                for zone in self.zone_outlines
            )
        return Overlays(
            objects=processed.objects if flags.bbox else (),
            regions=processed.regions if flags.regions else (),
            zones=zones,
            mask=self.motion_mask if flags.mask else None,
            motion=processed.motion if flags.motion else (),
            timestamp=processed.frame.time if flags.timestamp else None,
        )

    async def jpeg(self, out_height: int | None, flags: OverlayFlags) -> bytes | None:
        """The latest frame as JPEG (shared by every viewer asking the same), or None yet."""
        processed = self.latest
        if processed is None:
            return None
        frame = processed.frame.retain()
        try:
            overlays = self.overlays(processed, flags)
            return await self.renders.get(
                frame.index, (out_height, flags),
                lambda: render_jpeg(frame.buffer, self.width, self.height, overlays, out_height,
                                    full_range=frame.full_range),
            )
        finally:
            frame.release()

    def stats(self) -> dict[str, Any]:
        """This camera's entry of /api/stats (reference §12)."""
        return {
            "camera_fps": self.camera_fps.rate(),
            "process_fps": self.process_fps.rate(),
            "skipped_fps": self.skipped_fps.rate(),
            "detection_fps": self.detection_fps.rate(),
            "pid": os.getpid(),
            "capture_pid": self.capture_pid,
        }
