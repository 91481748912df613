"""A camera's events: rows, thumbnails and snapshots written as objects change (Frigate 0.8:
docs/compatibility.md#events).

An event is a tracked object that became a true positive. Its row is written when that
happens (with ``end_time`` unset), again after significant changes (at most every 5 s of
frame time) and every 30 s to keep ``last_seen`` fresh, and a last time when it ends, with
the snapshot; then ``on_ended`` is told (the camera queues the clip there). So a process
killed mid-event leaves a row that the next start closes at ``last_seen``. Writing happens
in this recorder's own task: the frame pipeline only queues.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from nvr.config.schema import CameraConfig
from nvr.events.store import EventRecord, EventStore
from nvr.files import write_atomically
from nvr.render.event_images import RGB, best_snapshot, best_thumbnail
from nvr.switches import CameraSwitches
from nvr.tracking.objects import BestFrame, TrackedObject
from nvr.tracking.state import ObjectsUpdate

log = logging.getLogger(__name__)

SAVE_INTERVAL = 5.0  # s of frame time between writes of a changed event
REFRESH_INTERVAL = 30.0  # s of frame time between writes of an unchanged event
RETRY_DELAY = 5.0  # s before writing an ended event again after a failure
WRITE_TIMEOUT = 10.0  # s one write may take (a hung network share must not hang shutdown)
SHUTDOWN_TIMEOUT = 8.0  # within the 10 s a container manager usually waits after SIGTERM


@dataclass(frozen=True)
class EventState:
    """An immutable copy of what is written about an event at one moment."""

    id: str
    label: str
    start_time: float
    end_time: float | None
    top_score: float
    zones: tuple[str, ...]
    last_seen: float
    best: BestFrame | None

    @classmethod
    def of(cls, obj: TrackedObject) -> EventState:
        return cls(obj.id, obj.label, obj.start_time, obj.end_time, obj.top_score,
                   tuple(obj.entered_zones), obj.frame_time, obj.best)


EventEnded = Callable[[str, str, Sequence[str], float, float], object]
"""Told ``(event id, label, zones, start, end)`` once an ended event's row is written."""


class EventRecorder:
    """Writes the events of one camera to ``store`` and its snapshots to ``clips_folder``."""

    def __init__(self, camera: str, config: CameraConfig, clips_folder: str | Path,
                 store: EventStore, label_color: Callable[[str], RGB],
                 on_ended: EventEnded | None = None,
                 switches: CameraSwitches | None = None) -> None:
        self.camera = camera
        self.on_ended = on_ended
        self.snapshots = config.snapshots
        self.switches = switches or CameraSwitches.of(config)
        self.clips_folder = Path(clips_folder)
        self.store = store
        self.label_color = label_color
        self.ending: dict[str, TrackedObject] = {}  # ended, row not written yet
        self._send, self._receive = trio.open_memory_channel[EventState](math.inf)
        self._saved_at: dict[str, float] = {}
        self._changed: set[str] = set()
        self._thumbnails: dict[str, tuple[BestFrame, str]] = {}

    def frame_done(self, update: ObjectsUpdate, objects: Iterable[TrackedObject],
                   frame_time: float) -> None:
        """Queue the writes one processed frame calls for (never blocks)."""
        for obj in update.confirmed:
            self._queue(obj, frame_time)
        self._changed.update(obj.id for obj in update.changed)
        for obj in objects:
            if obj.false_positive or obj.id not in self._saved_at:
                continue
            since = frame_time - self._saved_at[obj.id]
            if (obj.id in self._changed and since >= SAVE_INTERVAL) or since >= REFRESH_INTERVAL:
                self._queue(obj, frame_time)
        for obj in update.ended:
            if not obj.false_positive:
                self.ending[obj.id] = obj
                self._queue(obj, frame_time)

    def _queue(self, obj: TrackedObject, frame_time: float) -> None:
        self._saved_at[obj.id] = frame_time
        self._changed.discard(obj.id)
        self._send.send_nowait(EventState.of(obj))

    async def run(self) -> None:
        """Write queued events until cancelled; a write in progress is finished first.

        An ended event whose row could not be written is tried again (it stays served live
        meanwhile): its end is written nowhere else.
        """
        async for state in self._receive:
            with trio.move_on_after(WRITE_TIMEOUT, shield=True):
                if await self._write(state):
                    continue
            if state.end_time is not None:
                self._send.send_nowait(state)  # for the next try, or for finish() at shutdown
                await trio.sleep(RETRY_DELAY)

    async def finish(self, ended: list[TrackedObject], frame_time: float) -> None:
        """At shutdown: end ``ended`` and write everything still queued (bounded in time)."""
        self.frame_done(ObjectsUpdate(ended=ended), (), frame_time)
        with trio.move_on_after(SHUTDOWN_TIMEOUT, shield=True) as scope:
            while True:
                try:
                    state = self._receive.receive_nowait()
                except trio.WouldBlock:
                    break
                await self._write(state)
        if scope.cancelled_caught:
            log.warning("%s: gave up writing events at shutdown after %g s", self.camera,
                        SHUTDOWN_TIMEOUT)

    async def _write(self, state: EventState) -> bool:
        """Write the row (and at the end the snapshot); False if the row was not written."""
        try:
            thumbnail = await self._thumbnail(state)
            has_snapshot = state.end_time is not None and await self._write_snapshot(state)
            await self.store.save(EventRecord(
                id=state.id, camera=self.camera, label=state.label,
                start_time=state.start_time, end_time=state.end_time,
                top_score=state.top_score, false_positive=False, zones=state.zones,
                thumbnail=thumbnail, has_clip=False, has_snapshot=has_snapshot,
                last_seen=state.last_seen,
            ))
        except Exception:
            log.exception("%s: cannot write event %s", self.camera, state.id)
            return False
        if state.end_time is not None:
            self.ending.pop(state.id, None)
            self._saved_at.pop(state.id, None)
            self._thumbnails.pop(state.id, None)
            if self.on_ended is not None:
                self.on_ended(state.id, state.label, state.zones, state.start_time,
                              state.end_time)
        return True

    async def _thumbnail(self, state: EventState) -> str:
        cached = self._thumbnails.get(state.id)
        if cached is not None and cached[0] is state.best:
            return cached[1]
        jpeg = await trio.to_thread.run_sync(best_thumbnail, state.best)
        encoded = base64.b64encode(jpeg).decode("ascii")
        if state.best is not None:
            self._thumbnails[state.id] = (state.best, encoded)
        return encoded

    async def _write_snapshot(self, state: EventState) -> bool:
        """Write ``<camera>-<id>.jpg`` if snapshots are on and the zones allow; True if done."""
        required = self.snapshots.required_zones
        if (not self.switches.snapshots or state.best is None
                or (required and not set(required) & set(state.zones))):
            return False
        best, options = state.best, self.snapshots
        path = self.clips_folder / f"{self.camera}-{state.id}.jpg"

        def render_and_write() -> None:
            jpeg = best_snapshot(best, self.label_color(best.label),
                                 bounding_box=options.bounding_box, crop=options.crop,
                                 height=options.height, timestamp=options.timestamp)
            write_atomically(path, jpeg)

        try:
            await trio.to_thread.run_sync(render_and_write)
        except Exception as error:
            # The event is still written, without a snapshot.
            log.warning("%s: cannot write the snapshot of event %s: %s", self.camera, state.id,
                        error)
            return False
        return True
