"""One camera: its parts (capture hand-off, processing, live view, event recorder, clips,
segment cache) and the state the API reads. ``nvr.camera_tasks`` runs them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nvr.capture.handoff import FrameHandoff
from nvr.capture.pool import FramePool
from nvr.config.ffmpeg import camera_commands
from nvr.config.schema import CameraConfig, MediaConfig
from nvr.detection.frame import DetectorCalls
from nvr.events.recorder import EventRecorder
from nvr.live_view import LiveView
from nvr.processing import FrameProcessor, ProcessedFrame
from nvr.rates import RateCounter
from nvr.recording.event_clips import EventClips
from nvr.recording.segments import SegmentCache
from nvr.render.event_images import RGB, LiveEvent
from nvr.render.overlays import TAB10
from nvr.switches import CameraSwitches, Switch
from nvr.tracking.state import FrameObserver


class Camera:
    """A camera's pipeline and live state: capture hands frames over (``handoff``), the
    ``processor`` finds what they show and tells ``frame_observers``, ``live`` serves the
    latest one; ``switches`` turn detection, clips and snapshots on and off.

    ``can_detect``: whether a detector runs for this camera to use (a model is loaded).
    """

    def __init__(self, name: str, config: CameraConfig, media: MediaConfig,
                 stall_timeout: float, *,
                 label_color: Callable[[str], RGB] = lambda label: TAB10[0],
                 best_folder: Path | None = None, clips_max_seconds: float = 300.0,
                 can_detect: bool = True) -> None:
        self.name, self.config, self.media = name, config, media
        self.width, self.height = config.width, config.height
        self.stall_timeout, self.clips_max_seconds = stall_timeout, clips_max_seconds
        self.label_color = label_color
        self.can_detect = can_detect
        self.switches = CameraSwitches.of(config)
        self.frame_observers: list[FrameObserver] = []
        commands = camera_commands(name, config, media)
        [self.detect_command] = [command for command in commands if "detect" in command.roles]
        # Processes with only file outputs: segments for clips and 24/7 recordings.
        self.writer_commands = [command for command in commands if "detect" not in command.roles]
        has_clips_input = any("clips" in command.roles for command in commands)
        self.cache = SegmentCache(name, media.cache) if has_clips_input else None
        self.pool = FramePool(self.width, self.height)
        self.handoff = FrameHandoff()
        self.processor = FrameProcessor(name, config, label_color, best_folder)
        self.live = LiveView(self.width, self.height, self.processor.motion_mask,
                             self.processor.zone_outlines)
        self.capture_pid = 0
        self.process_fps, self.detection_fps = RateCounter(), RateCounter()
        self.detector_calls = DetectorCalls()
        # Set while nvr.camera_tasks runs the camera.
        self.recorder: EventRecorder | None = None
        self.clips: EventClips | None = None

    def count_detector_call(self, found: bool) -> None:
        """One detector call of this camera's frames, and whether it found a tracked label."""
        self.detection_fps.add()
        self.detector_calls.add(found)

    def supports(self, switch: Switch) -> bool:
        """Whether ``switch`` can be on: detection needs a detector, clips a clips input."""
        if switch == "detect":
            return self.can_detect
        if switch == "clips":
            return self.cache is not None
        return True

    @property
    def latest(self) -> ProcessedFrame | None:
        return self.live.latest

    def segments_needed_from(self, now: float, max_seconds: float) -> float:
        """Epoch from which this camera's cached segments may still go into a clip: the
        earliest open event's start minus pre-capture (else now), but not more than
        ``max_seconds`` back; and whatever a clip being built reads (its window was capped
        when it was queued)."""
        objects = list(self.processor.objects.objects.values())
        if self.recorder is not None:
            objects += self.recorder.ending.values()
        starts = [obj.start_time - self.config.clips.pre_capture for obj in objects]
        needed = max(min(starts, default=now), now - max_seconds)
        if self.clips is not None:
            needed = min([needed, *self.clips.pending.values()])
        return needed

    def live_event(self, event_id: str) -> LiveEvent | None:
        """The tracked (or ended but not yet written) object ``event_id``, if any."""
        obj = self.processor.objects.objects.get(event_id)
        if obj is None and self.recorder is not None:
            obj = self.recorder.ending.get(event_id)
        return None if obj is None else LiveEvent(obj, self.label_color(obj.label))

    def stats(self) -> dict[str, Any]:
        """This camera's entry of /api/stats (Frigate 0.8: docs/compatibility.md#stats)."""
        return {
            "camera_fps": self.handoff.received.rate(),
            "process_fps": self.process_fps.rate(),
            "skipped_fps": self.handoff.skipped.rate(),
            "detection_fps": self.detection_fps.rate(),
            "pid": os.getpid(),
            "capture_pid": self.capture_pid,
        }
