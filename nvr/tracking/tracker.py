"""Which detection of a frame is which object: matching by overlap and distance (Frigate 0.8:
docs/compatibility.md#tracking).

Differences from Frigate 0.8, on purpose: a detection only matches an object of the same
label that it overlaps or that is near enough (a gate that widens while the object is
unseen), instead of any object anywhere in the frame; every label is processed in every
frame (Frigate 0.8 stopped at the first label with no tracked objects); and an object is
told apart from a visit that ended (docs/compatibility.md#tracking):

- *looked at and missing*: the detector searched a region holding the object's box and did
  not find it. The object is gone once that has lasted ``empty_timeout`` seconds, and until
  then only a detection overlapping its box is taken for it: someone walking in after it
  left starts an object (an event) of their own.
- *not looked at*: no region covered it (no motion there, nothing searched). That says
  nothing about the object, so it is kept for ``max_disappeared`` frames, and re-checked
  by the caller (``due_for_check``) so that a still object stays tracked while it is there.

An object whose last ``STILL_MATCHES`` matches barely moved is *still*: motion inside its box
(someone at a table moving their hands) is taken to be the object itself and not searched
(``still_boxes``); it is re-checked every interval like an object where nothing moves.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

from nvr.detection.frame import ObjectDetection
from nvr.frames import Box

ID_CHARACTERS = string.ascii_lowercase + string.digits
GATE = 1.0  # a match may be this many box sizes away, plus GATE_GROWTH per frame unseen
GATE_GROWTH = 0.25


def new_object_id(frame_time: float) -> str:
    """``<frame time>-<6 random characters>``, as Frigate 0.8 names objects and events."""
    return f"{frame_time:.6f}-{''.join(random.choices(ID_CHARACTERS, k=6))}"


def centroid(box: Box) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


LOOKED_AT = 0.9  # share of a box inside a searched region for the box to count as looked at
STILL_IOU = 0.8  # a match overlapping the object's previous box this much did not move
STILL_MATCHES = 5  # consecutive matches that did not move make an object still


def looked_at(box: Box, regions: Sequence[Box]) -> bool:
    """Whether one of ``regions`` holds (nearly) all of ``box``."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    for region in regions:
        width = min(box[2], region[2]) - max(box[0], region[0])
        height = min(box[3], region[3]) - max(box[1], region[1])
        if width > 0 and height > 0 and width * height >= LOOKED_AT * area:
            return True
    return False


@dataclass
class Track:
    """What the tracker knows of an object: where it was last seen, when its box was last
    searched, and since when the searches find it missing (None: it was found)."""

    id: str
    label: str
    box: Box
    last_looked: float
    disappeared: int = 0
    missing_since: float | None = None
    still_matches: int = 0  # consecutive matches that did not move
    moved: bool = False  # whether any match moved: what never moved is scenery, not re-checked


@dataclass
class TrackerUpdate:
    """The outcome of one frame: ids new, seen again, looked at and missing (kept), not looked
    at (kept) and gone."""

    registered: list[tuple[str, ObjectDetection]] = field(default_factory=list)
    matched: list[tuple[str, ObjectDetection]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class ObjectTracker:
    """Tracks objects across frames. An object is removed once the detector has looked for it
    and missed it for ``empty_timeout`` seconds, or after ``max_disappeared`` frames in a row
    without a match."""

    def __init__(self, max_disappeared: int, empty_timeout: float = 1.0) -> None:
        self.max_disappeared = max_disappeared
        self.empty_timeout = empty_timeout
        self.tracks: dict[str, Track] = {}

    def update(self, detections: list[ObjectDetection], frame_time: float,
               searched: Sequence[Box] = ()) -> TrackerUpdate:
        """Match a frame's detections, found in the regions ``searched``, to the objects."""
        update = TrackerUpdate()
        unmatched = list(range(len(detections)))
        for track_id, index in self._matches(detections):
            track = self.tracks[track_id]
            moved = iou(track.box, detections[index].box) < STILL_IOU
            track.still_matches = 0 if moved else track.still_matches + 1
            track.moved = track.moved or moved
            track.box, track.disappeared = detections[index].box, 0
            track.last_looked, track.missing_since = frame_time, None
            update.matched.append((track_id, detections[index]))
            unmatched.remove(index)
        seen = {track_id for track_id, _ in update.matched}
        for track in list(self.tracks.values()):
            if track.id in seen:
                continue
            missing = looked_at(track.box, searched)
            if missing:
                track.last_looked = frame_time
                if track.missing_since is None:
                    track.missing_since = frame_time
            missed_for = (frame_time - track.missing_since
                          if missing and track.missing_since is not None else 0.0)
            if track.disappeared >= self.max_disappeared or missed_for >= self.empty_timeout:
                del self.tracks[track.id]
                update.removed.append(track.id)
                continue
            track.disappeared += 1
            (update.missing if missing else update.unseen).append(track.id)
        for index in unmatched:
            detection = detections[index]
            track = Track(new_object_id(frame_time), detection.label, detection.box, frame_time)
            self.tracks[track.id] = track
            update.registered.append((track.id, detection))
        return update

    def due_for_check(self, frame_time: float, interval: float) -> list[Box]:
        """Boxes to search even without motion: objects found missing (so that a visit that
        ended ends within ``empty_timeout``), and objects that moved once and have not been
        looked at for ``interval`` s. An object that never moved (a parked car, a poster taken
        for a person as someone walked by) is not re-checked: it ends after
        ``max_disappeared`` frames without motion, as in Frigate 0.8."""
        return [track.box for track in self.tracks.values()
                if track.missing_since is not None
                or (track.moved and frame_time - track.last_looked >= interval)]

    def still_boxes(self, frame_time: float, interval: float) -> list[Box]:
        """Boxes of still objects (they moved once) that are not due for a check: motion
        inside them needs no search."""
        return [track.box for track in self.tracks.values()
                if track.moved and track.still_matches >= STILL_MATCHES
                and track.missing_since is None and frame_time - track.last_looked < interval]

    def _matches(self, detections: list[ObjectDetection]) -> list[tuple[str, int]]:
        """Greedy matching, closest pairs first, of objects and detections that may match."""
        candidates = []
        for track in self.tracks.values():
            for index, detection in enumerate(detections):
                if detection.label != track.label:
                    continue
                distance = self._distance(track, detection.box)
                if distance is not None:
                    candidates.append((distance, track.id, index))
        candidates.sort()
        used_tracks: set[str] = set()
        used_detections: set[int] = set()
        matches = []
        for _, track_id, index in candidates:
            if track_id not in used_tracks and index not in used_detections:
                used_tracks.add(track_id)
                used_detections.add(index)
                matches.append((track_id, index))
        return matches

    @staticmethod
    def _distance(track: Track, box: Box) -> float | None:
        """Centroid distance of ``box`` from the track, or None if outside its gate.

        Overlapping boxes always qualify; otherwise the distance may be at most the larger
        side of the tracked box times a factor that grows while the object is unseen. An
        object found missing takes overlapping boxes only.
        """
        (ax, ay), (bx, by) = centroid(track.box), centroid(box)
        distance = math.hypot(ax - bx, ay - by)
        if iou(track.box, box) > 0:
            return distance
        if track.missing_since is not None:
            return None
        size = max(track.box[2] - track.box[0], track.box[3] - track.box[1])
        gate = size * (GATE + GATE_GROWTH * track.disappeared)
        return distance if distance <= gate else None
