"""What a camera's frames publish (Frigate 0.8: docs/compatibility.md#mqtt): object counts
per camera and per zone, the best snapshot per label, and the events of its objects.

``CameraTopics`` is one of the camera's frame observers: it only computes and adds to the
outbox (snapshots are rendered by its own task, in a worker thread), so a camera never waits
for MQTT.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import trio

from nvr.config.schema import CameraConfig
from nvr.mqtt.outbox import Message, Outbox
from nvr.render.event_images import RGB, best_snapshot
from nvr.tracking.objects import BestFrame, TrackedObject
from nvr.tracking.state import ObjectsUpdate

log = logging.getLogger(__name__)

UPDATE_INTERVAL = 5.0  # s of frame time: an object's update messages come at most this often


class ZoneCounts:
    """Objects per (zone, label), summed over the cameras that have a zone of that name."""

    def __init__(self) -> None:
        self._by_camera: dict[str, Counter[tuple[str, str]]] = {}

    def update(self, camera: str, counts: Counter[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Record one camera's counts; returns the totals that changed."""
        before = self._by_camera.get(camera, Counter())
        self._by_camera[camera] = counts
        return {key: sum(c[key] for c in self._by_camera.values())
                for key in before.keys() | counts.keys() if before[key] != counts[key]}


@dataclass
class _Published:
    """What ``<prefix>/events`` last said of an object, and when its state last changed."""

    message: dict[str, Any]
    at: float = -math.inf  # frame time of the last message; -inf: none yet
    updated: float = -math.inf  # frame time of the last significant change


class CameraTopics:
    """The counts, snapshots and events of one camera, published through ``outbox``."""

    def __init__(self, prefix: str, camera: str, config: CameraConfig, outbox: Outbox,
                 zones: ZoneCounts, label_color: Callable[[str], RGB]) -> None:
        self.prefix, self.camera = prefix, camera
        self.options = config.mqtt
        self.outbox, self.zones = outbox, zones
        self.label_color = label_color
        self._counts: Counter[str] = Counter()
        self._events: dict[str, _Published] = {}
        self._snapshots_due: dict[str, BestFrame] = {}
        self._snapshot_wanted = trio.Event()
        self._failed = False
        # Every count starts at 0, so that each sensor has a value from the start.
        for label in config.objects.track:
            self._count(f"{camera}/{label}", 0)
            for zone in config.zones:
                self._count(f"{zone}/{label}", 0)

    def frame_done(self, update: ObjectsUpdate, objects: Iterable[TrackedObject],
                   frame_time: float) -> None:
        tracked = list(objects)
        try:
            self._publish_events(update, tracked, frame_time)
            self._publish_counts(tracked)
            for obj in update.new_best:
                self._snapshot_due(obj)
        except Exception:
            # A bug here must not stop the camera's pipeline; said once per camera.
            if not self._failed:
                log.exception("%s: MQTT topics of a frame failed", self.camera)
            self._failed = True

    def _count(self, subtopic: str, count: int) -> None:
        self.outbox.set_state(Message(f"{self.prefix}/{subtopic}", str(count).encode()))

    def _publish_counts(self, tracked: list[TrackedObject]) -> None:
        confirmed = [obj for obj in tracked if not obj.false_positive]
        counts = Counter(obj.label for obj in confirmed)
        for label in self._counts.keys() | counts.keys():
            if counts[label] != self._counts[label]:
                self._count(f"{self.camera}/{label}", counts[label])
                if counts[label] == 0:  # as Frigate 0.8: the label's best image once more
                    self.outbox.resend(f"{self.prefix}/{self.camera}/{label}/snapshot")
        self._counts = counts
        in_zones = Counter((zone, obj.label) for obj in confirmed for zone in obj.current_zones)
        for (zone, label), total in self.zones.update(self.camera, in_zones).items():
            self._count(f"{zone}/{label}", total)

    def _publish_events(self, update: ObjectsUpdate, tracked: list[TrackedObject],
                        frame_time: float) -> None:
        """``new`` when an object becomes a true positive, ``update`` after a significant change
        (at most every 5 s of frame time), ``end`` when a true positive is gone."""
        for obj in tracked:
            if obj.id not in self._events:
                self._events[obj.id] = _Published(obj.as_dict())
        for obj in update.confirmed:
            self._send_event("new", obj, frame_time)
        for obj in update.changed:
            self._events[obj.id].updated = frame_time
        for obj in tracked:
            published = self._events[obj.id]
            if (not obj.false_positive and published.updated > published.at
                    and frame_time - published.at > UPDATE_INTERVAL):
                self._send_event("update", obj, frame_time)
        for obj in update.ended:
            if not obj.false_positive:
                self._send_event("end", obj, frame_time)
            self._events.pop(obj.id, None)

    def _send_event(self, kind: str, obj: TrackedObject, frame_time: float) -> None:
        published = self._events.setdefault(obj.id, _Published(obj.as_dict()))
        after = obj.as_dict()
        payload = json.dumps({"before": published.message, "after": after, "type": kind})
        self.outbox.queue("events", Message(f"{self.prefix}/events", payload.encode()))
        published.message, published.at = after, frame_time

    def _snapshot_due(self, obj: TrackedObject) -> None:
        """The label's best image changed: render it (unless the camera's ``mqtt`` options
        say no: off, or a required zone not entered)."""
        required = self.options.required_zones
        if (not self.options.enabled or obj.best is None
                or (required and not set(required) & set(obj.entered_zones))):
            return
        self._snapshots_due[obj.label] = obj.best
        self._snapshot_wanted.set()

    async def run(self) -> None:
        """Render due snapshots (a worker thread) and publish them, retained, until cancelled;
        a label whose image changed again meanwhile is rendered once, with the newest."""
        while True:
            await self._snapshot_wanted.wait()
            self._snapshot_wanted = trio.Event()
            due, self._snapshots_due = self._snapshots_due, {}
            for label, best in due.items():
                try:
                    jpeg = await trio.to_thread.run_sync(self._render, best)
                except Exception:
                    log.exception("%s: cannot render the %s snapshot", self.camera, label)
                    continue
                topic = f"{self.prefix}/{self.camera}/{label}/snapshot"
                self.outbox.set_state(Message(topic, jpeg, retain=True))

    def _render(self, best: BestFrame) -> bytes:
        options = self.options
        return best_snapshot(best, self.label_color(best.label),
                             bounding_box=options.bounding_box, crop=options.crop,
                             height=options.height, timestamp=options.timestamp)
