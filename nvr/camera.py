"""One camera: capture, per-frame processing (motion, regions) and the state the API reads."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import trio

from nvr._fast.motion import MotionDetector
from nvr._fast.regions import select_regions
from nvr.capture.pool import Frame, FramePool
from nvr.capture.supervisor import Backoff, supervise_capture
from nvr.config.ffmpeg import camera_commands
from nvr.config.polygons import parse_mask, parse_zone_coordinates
from nvr.config.schema import CameraConfig, MediaConfig
from nvr.frames import Box, planes
from nvr.masks import polygon_mask
from nvr.rates import RateCounter
from nvr.render import Overlays, ZoneOutline, render_jpeg, zone_colors
from nvr.shared_renders import SharedRenders

log = logging.getLogger(__name__)


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


class Camera:
    """A camera's pipeline and live state.

    Capture hands each frame to ``deliver``; if the processor has not taken the previous
    one yet, that one is dropped and counted in ``skipped_fps``. The processor publishes
    its result as ``latest``, which the HTTP handlers render.
    """

    def __init__(self, name: str, config: CameraConfig, media: MediaConfig,
                 stall_timeout: float) -> None:
        self.name = name
        self.config = config
        self.width, self.height = config.width, config.height
        self.stall_timeout = stall_timeout
        [self.detect_command] = [command for command in camera_commands(name, config, media)
                                 if "detect" in command.roles]
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

    # Processing ----------------------------------------------------------------------

    async def _next_frame(self) -> Frame:
        while self._pending is None:
            self._arrived = trio.Event()
            await self._arrived.wait()
        frame, self._pending = self._pending, None
        return frame

    def _analyse(self, frame: Frame) -> tuple[tuple[Box, ...], tuple[Box, ...]]:
        """Motion and regions of one frame (a worker thread: the kernels release the GIL)."""
        motion = self._motion.detect(planes(frame.buffer, self.width, self.height).y)
        regions = select_regions(motion, [], self.width, self.height) if motion else []
        return tuple(motion), tuple(regions)

    async def _process_frames(self) -> None:
        while True:
            frame = await self._next_frame()
            # Never reset, not even by a pipeline restart: renders are keyed by it.
            frame.index, self._frames_processed = self._frames_processed, self._frames_processed + 1
            try:
                if self.config.detect.enabled:
                    motion, regions = await trio.to_thread.run_sync(self._analyse, frame)
                    self.process_fps.add()
                else:
                    motion, regions = (), ()
            except BaseException:
                frame.release()
                raise
            self._publish(ProcessedFrame(frame, motion, regions))

    def _publish(self, processed: ProcessedFrame) -> None:
        previous, self.latest = self.latest, processed
        if previous is not None:
            previous.frame.release()

    async def run(self) -> None:
        """Capture and process until cancelled; a crash restarts this camera alone."""
        backoff = Backoff()
        while True:
            started = trio.current_time()
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(
                        supervise_capture, self.name, self.detect_command, self.pool,
                        self.stall_timeout, self.deliver, self._set_capture_pid,
                    )
                    nursery.start_soon(self._process_frames)
            except Exception:
                # A bug, not a camera fault (those are handled by the capture supervisor).
                log.exception("%s: camera pipeline crashed", self.name)
            delay = backoff.next_delay(trio.current_time() - started)
            log.warning("%s: restarting the camera pipeline in %g s", self.name, delay)
            await trio.sleep(delay)

    # Reading (HTTP) ------------------------------------------------------------------

    def overlays(self, processed: ProcessedFrame, flags: OverlayFlags) -> Overlays:
        """What to draw on ``processed`` for a viewer who asked for ``flags``."""
        return Overlays(
            regions=processed.regions if flags.regions else (),
            zones=self.zone_outlines if flags.zones else (),
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
