"""The clip of each ended event, built from the camera's segment cache (Frigate 0.8:
docs/compatibility.md#clips).

Each clip is built in its own task: one that waits for its last segment never delays the
others (Frigate 0.8 built them one after another for all cameras).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from nvr.config.schema import CameraConfig
from nvr.events.media import parse_event_file_name
from nvr.events.store import EventStore
from nvr.recording.clips import PARTIAL_SUFFIX, build_clip, clip_wanted
from nvr.recording.segments import SegmentCache
from nvr.switches import CameraSwitches

log = logging.getLogger(__name__)

POLL_INTERVAL = 2.0
# How long to wait for the segment holding the end of the window before building a shorter
# clip from what there is: two 10 s segments and ffmpeg's own delay.
SEGMENT_WAIT = 45.0


@dataclass(frozen=True)
class ClipRequest:
    """An ended event whose clip is wanted."""

    id: str
    start: float  # window, epoch s: event start - pre_capture ... end + post_capture
    end: float


class EventClips:
    """Builds one camera's event clips into ``clips_folder`` and sets ``has_clip``."""

    def __init__(self, camera: str, config: CameraConfig, clips_folder: str | Path,
                 cache: SegmentCache, store: EventStore, max_seconds: float,
                 switches: CameraSwitches | None = None) -> None:
        self.camera = camera
        self.config = config
        self.switches = switches or CameraSwitches.of(config)
        self.max_seconds = max_seconds
        self.clips_folder = Path(clips_folder)
        self.cache = cache
        self.store = store
        self.pending: dict[str, float] = {}  # event id -> window start (keeps its segments)
        self._send, self._receive = trio.open_memory_channel[ClipRequest](math.inf)

    def request(self, event_id: str, label: str, zones: Sequence[str], start: float,
                end: float) -> bool:
        """Queue the clip of an ended event if the config wants one; True if queued."""
        clips = self.config.clips
        if not clip_wanted(self.config, label, zones, enabled=self.switches.clips):
            return False
        window_end = end + clips.post_capture
        # Clips are at most max_seconds long (the cache keeps no more): the last part.
        window_start = max(start - clips.pre_capture, window_end - self.max_seconds)
        request = ClipRequest(event_id, window_start, window_end)
        self.pending[event_id] = request.start
        self._send.send_nowait(request)
        return True

    async def run(self) -> None:
        """Build queued clips, each in its own task, until cancelled. A clip that fails is
        logged and given up (its event keeps ``has_clip`` false). Unfinished clips of a
        killed process are removed first, before any build can write one of its own."""
        try:
            await trio.to_thread.run_sync(self._remove_partials)
        except OSError as error:
            log.warning("%s: cannot remove unfinished clips: %s", self.camera, error)
        async with trio.open_nursery() as nursery:
            async for request in self._receive:
                nursery.start_soon(self._build, request)

    def _remove_partials(self) -> None:
        """Delete half-written clips left by a process that was killed while building."""
        for unfinished in self.clips_folder.glob(f"{self.camera}-*.mp4{PARTIAL_SUFFIX}"):
            parsed = parse_event_file_name(unfinished.name.removesuffix(PARTIAL_SUFFIX))
            if parsed is None or parsed[0] != self.camera:
                continue  # another camera whose name starts with this one's
            unfinished.unlink(missing_ok=True)
            log.info("%s: removed the unfinished clip %s", self.camera, unfinished.name)

    async def _build(self, request: ClipRequest) -> None:
        try:
            await self._wait_for_end(request)
            segments = self.cache.covering(request.start, request.end)
            if not segments:
                log.warning("%s: no clip for event %s: no cached segments cover it",
                            self.camera, request.id)
                return
            path = self.clips_folder / f"{self.camera}-{request.id}.mp4"
            result = await build_clip(segments, request.start, request.end, path)
            if not result.ok:
                log.warning("%s: no clip for event %s: %s", self.camera, request.id,
                            result.reason)
                return
            await self.store.set_flags(request.id, has_clip=True)
            log.info("%s: clip of event %s: %.1f s%s", self.camera, request.id,
                     result.duration, " (re-encoded to H.264)" if result.reencoded else "")
        except Exception:
            log.exception("%s: building the clip of event %s failed", self.camera, request.id)
        finally:
            self.pending.pop(request.id, None)

    async def _wait_for_end(self, request: ClipRequest) -> None:
        """Until a closed segment reaches the window's end (or SEGMENT_WAIT has passed)."""
        with trio.move_on_after(SEGMENT_WAIT):
            while True:
                await trio.to_thread.run_sync(self.cache.refresh)
                newest = self.cache.newest_end()
                if newest is not None and newest >= request.end:
                    return
                await trio.sleep(POLL_INTERVAL)
        log.warning("%s: event %s: the cache has nothing after %s yet; the clip will be "
                    "shorter", self.camera, request.id, self.cache.newest_end())
