"""Tracker, object state and best images (docs/compatibility.md#tracking and
#object-state)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nvr.config.schema import ZoneFilterConfig
from nvr.detection.frame import ObjectDetection
from nvr.frames import new_frame
from nvr.tracking.best import BestObjects
from nvr.tracking.objects import TrackedObject, Zone
from nvr.tracking.tracker import ObjectTracker

W, H = 640, 480


def seen(label: str, box: tuple[int, int, int, int], score: float = 0.8) -> ObjectDetection:
    area = (box[2] - box[0]) * (box[3] - box[1])
    return ObjectDetection(label, score, box, area, (0, 0, 300, 300))


def test_an_object_moving_a_little_keeps_its_id() -> None:
    tracker = ObjectTracker(max_disappeared=3)
    [(first_id, _)] = tracker.update([seen("person", (100, 100, 160, 260))], 1.0).registered
    update = tracker.update([seen("person", (110, 104, 170, 262))], 1.2)
    assert [object_id for object_id, _ in update.matched] == [first_id]
    assert update.registered == []
    assert re.fullmatch(r"1\.000000-[a-z0-9]{6}", first_id)


def test_no_matching_across_the_frame() -> None:
    tracker = ObjectTracker(max_disappeared=3)
    [(left_id, _)] = tracker.update([seen("person", (10, 100, 70, 260))], 1.0).registered
    update = tracker.update([seen("person", (560, 100, 620, 260))], 1.2)
    assert update.matched == []
    assert len(update.registered) == 1
    assert update.unseen == [left_id]


def test_labels_are_matched_separately_and_all_new_labels_register() -> None:
    tracker = ObjectTracker(max_disappeared=3)
    update = tracker.update([seen("person", (100, 100, 160, 260)),
                             seen("car", (300, 200, 500, 300))], 1.0)
    assert sorted(d.label for _, d in update.registered) == ["car", "person"]
    update = tracker.update([seen("car", (100, 100, 160, 260))], 1.2)
    # A car where the person was is a new object, not the person.
    assert update.matched == [] and len(update.registered) == 1


def test_closest_pairs_are_matched_first() -> None:
    tracker = ObjectTracker(max_disappeared=3)
    registered = tracker.update([seen("person", (100, 100, 160, 260)),
                                 seen("person", (200, 100, 260, 260))], 1.0).registered
    ids = {d.box[0]: object_id for object_id, d in registered}
    update = tracker.update([seen("person", (205, 100, 265, 260)),
                             seen("person", (95, 100, 155, 260))], 1.2)
    assert {d.box[0]: object_id for object_id, d in update.matched} == {
        95: ids[100], 205: ids[200]}


def test_an_unseen_object_is_removed_after_max_disappeared_frames() -> None:
    tracker = ObjectTracker(max_disappeared=2)
    [(object_id, _)] = tracker.update([seen("person", (100, 100, 160, 260))], 1.0).registered
    assert tracker.update([], 1.2).unseen == [object_id]
    assert tracker.update([], 1.4).unseen == [object_id]
    assert tracker.update([], 1.6).removed == [object_id]
    assert tracker.tracks == {}


def test_the_gate_widens_while_an_object_is_unseen() -> None:
    tracker = ObjectTracker(max_disappeared=10)
    [(object_id, _)] = tracker.update([seen("person", (100, 100, 160, 260))], 1.0).registered
    for time in (1.2, 1.4, 1.6, 1.8):
        tracker.update([], time)
    # 300 px away: beyond one box size (160 px), within 1 + 4 * 0.25 = 2 sizes.
    update = tracker.update([seen("person", (400, 100, 460, 260))], 2.0)
    assert [matched_id for matched_id, _ in update.matched] == [object_id]


BOX = (100, 100, 160, 260)
AROUND = (0, 0, 300, 300)  # a searched region holding BOX


def test_an_object_looked_for_and_missed_ends_after_the_empty_timeout() -> None:
    tracker = ObjectTracker(max_disappeared=25, empty_timeout=1.0)
    [(object_id, _)] = tracker.update([seen("person", BOX)], 0.0).registered
    for time in (0.2, 0.4, 0.6, 0.8):
        assert tracker.update([], time, [AROUND]).missing == [object_id]
    assert tracker.update([], 1.0, [(0, 0, 120, 120)]).unseen == [object_id]  # not held
    assert tracker.update([], 1.2, [AROUND]).removed == [object_id]  # missed since 0.2


def test_an_object_not_looked_at_is_kept_for_max_disappeared_frames() -> None:
    tracker = ObjectTracker(max_disappeared=3, empty_timeout=0.1)
    [(object_id, _)] = tracker.update([seen("person", BOX)], 0.0).registered
    for time in (1.0, 2.0, 3.0):
        assert tracker.update([], time, [(400, 0, 700, 300)]).unseen == [object_id]
    assert tracker.update([], 4.0).removed == [object_id]


def test_a_match_ends_the_missing_stretch() -> None:
    tracker = ObjectTracker(max_disappeared=25, empty_timeout=1.0)
    [(object_id, _)] = tracker.update([seen("person", BOX)], 0.0).registered
    tracker.update([], 0.2, [AROUND])  # one missed frame: the detector's score dipped
    assert [i for i, _ in tracker.update([seen("person", BOX)], 0.4, [AROUND]).matched] == [
        object_id]
    for time in (0.6, 0.8, 1.0, 1.2):
        assert tracker.update([], time, [AROUND]).missing == [object_id]


def test_someone_arriving_after_an_object_was_missed_is_a_new_object() -> None:
    tracker = ObjectTracker(max_disappeared=25, empty_timeout=2.0)
    [(left_id, _)] = tracker.update([seen("person", BOX)], 0.0).registered
    tracker.update([], 0.2, [AROUND])  # she left: her place searched, empty
    # Near her place (within the gate of an unseen object) but not on it.
    update = tracker.update([seen("person", (170, 100, 230, 260))], 0.4, [AROUND])
    assert update.matched == [] and len(update.registered) == 1
    assert update.missing == [left_id]


def test_objects_due_for_a_check_without_motion() -> None:
    tracker = ObjectTracker(max_disappeared=25, empty_timeout=1.0)
    car = (400, 300, 600, 400)
    tracker.update([seen("person", (60, 100, 120, 260)), seen("car", car)], 0.0)
    tracker.update([seen("person", BOX), seen("car", car)], 0.2)  # she walked, it stood
    assert tracker.due_for_check(0.5, interval=1.0) == []
    # The car never moved: scenery, left to max_disappeared as in Frigate 0.8.
    assert tracker.due_for_check(1.2, interval=1.0) == [BOX]
    tracker.update([], 1.2, [AROUND])
    # She was searched and missed: she is checked every frame until found or gone.
    assert tracker.due_for_check(1.4, interval=1.0) == [BOX]


def tracked(detection: ObjectDetection, threshold: float = 0.7) -> TrackedObject:
    return TrackedObject("1.0-abcdef", "cam", detection, 1.0, threshold)


def step(obj: TrackedObject, detection: ObjectDetection | None, time: float,
         frame: np.ndarray | None = None, zones: tuple[Zone, ...] = ()) -> bool:
    frame = new_frame(W, H) if frame is None else frame
    return obj.update(detection, frame, False, time, zones, (W, H))


def test_score_median_and_false_positive() -> None:
    first = seen("person", (100, 100, 160, 260), 0.9)
    obj = tracked(first)
    step(obj, first, 1.0)
    assert obj.computed_score == 0.0 and obj.false_positive  # [0.9, 0, 0]
    step(obj, seen("person", (100, 100, 160, 260), 0.8), 1.2)
    assert obj.computed_score == 0.8 and not obj.false_positive  # [0.9, 0.8, 0]
    for time in (1.4, 1.6, 1.8):
        step(obj, None, time)
    assert obj.computed_score == 0.0
    assert obj.top_score == pytest.approx(0.8)
    assert not obj.false_positive  # never becomes a false positive again


def test_best_frame_is_a_copy_and_only_replaced_by_a_clearly_better_one() -> None:
    box = (100, 100, 160, 260)
    obj = tracked(seen("person", box, 0.9))
    frame = new_frame(W, H)
    step(obj, seen("person", box, 0.9), 1.0, frame)
    assert obj.best is None  # still a false positive
    frame[:] = 7
    assert step(obj, seen("person", box, 0.9), 1.2, frame)
    assert obj.best is not None and obj.best.time == 1.2
    frame[:] = 9
    assert obj.best.buffer[0] == 7  # a private copy
    assert not step(obj, seen("person", box, 0.93), 1.4, frame)  # not 0.05 better
    assert step(obj, seen("person", box, 0.96), 1.6, frame)
    assert obj.best.time == 1.6
    # Touching the frame edge is never better than a whole view, however large.
    assert not step(obj, seen("person", (0, 100, 300, 400), 0.99), 1.8, frame)
    assert obj.best.time == 1.6


def zone(name: str, x1: int, x2: int, **filters: ZoneFilterConfig) -> Zone:
    mask = np.full((H, W), 255, np.uint8)
    mask[:, x1:x2] = 0
    return Zone(name, mask, filters)


def test_zones_use_the_bottom_centre_point_and_filters() -> None:
    zones = (zone("left", 0, 200), zone("right", 200, W,
                                        person=ZoneFilterConfig(min_area=20_000)))
    obj = tracked(seen("person", (100, 100, 160, 260)))
    step(obj, seen("person", (100, 100, 160, 260)), 1.0, zones=zones)
    assert obj.current_zones == ["left"]
    # Its bottom centre is in "right" now, but the box is too small for that zone's filter.
    step(obj, seen("person", (200, 100, 260, 260)), 1.2, zones=zones)
    assert obj.current_zones == []
    step(obj, seen("person", (300, 100, 500, 260)), 1.4, zones=zones)
    assert obj.current_zones == ["right"]
    assert obj.entered_zones == ["left", "right"]


def test_a_zone_change_is_significant_only_for_true_positives() -> None:
    zones = (zone("left", 0, 200),)
    obj = tracked(seen("person", (300, 100, 360, 260), 0.9))
    assert not step(obj, seen("person", (300, 100, 360, 260), 0.9), 1.0, zones=zones)
    assert not step(obj, seen("person", (100, 100, 160, 260), 0.5), 1.2, zones=zones)
    assert obj.false_positive and obj.current_zones == ["left"]


def test_best_object_per_label_and_its_timeout(tmp_path) -> None:
    box = (100, 100, 160, 260)
    objects = BestObjects(tmp_path / "best", timeout=60)
    obj = tracked(seen("person", box))
    frame = new_frame(W, H)
    step(obj, seen("person", box, 0.9), 1.0, frame)
    step(obj, seen("person", box, 0.9), 1.2, frame)
    first = obj.best
    assert objects.offer(first, now=100.0)
    other = tracked(seen("person", box))
    step(other, seen("person", box, 0.9), 2.0, frame)
    step(other, seen("person", box, 0.92), 2.2, frame)
    assert not objects.offer(other.best, now=130.0)  # not better, not stale
    assert objects.offer(other.best, now=161.0)  # the current best is older than 60 s
    assert objects.frames["person"] is other.best


def test_best_images_survive_a_restart(tmp_path) -> None:
    box = (100, 100, 160, 260)
    objects = BestObjects(tmp_path / "best", timeout=60)
    obj = tracked(seen("person", box))
    frame = np.arange(new_frame(W, H).size, dtype=np.uint32).astype(np.uint8)
    step(obj, seen("person", box, 0.9), 1.0, frame)
    step(obj, seen("person", box, 0.9), 1.2, frame)
    objects.offer(obj.best)
    objects.save(objects.take_unsaved())
    assert objects.take_unsaved() == []

    restarted = BestObjects(tmp_path / "best", timeout=60)
    restarted.load(W, H)
    best = restarted.frames["person"]
    assert (best.box, best.score, best.time) == (box, 0.9, 1.2)
    assert np.array_equal(best.buffer, frame)
    resized = BestObjects(tmp_path / "best", timeout=60)
    resized.load(W * 2, H * 2)  # the camera's size changed: the old image does not fit
    assert resized.frames == {}


def test_a_frame_that_did_not_look_adds_no_score() -> None:
    first = seen("person", BOX, 0.9)
    obj = tracked(first)
    step(obj, first, 1.0)
    step(obj, seen("person", BOX, 0.8), 1.2)
    assert not obj.false_positive
    for time in (1.4, 1.6, 1.8, 2.0):
        obj.update(None, new_frame(W, H), False, time, (), (W, H), looked_at=False)
    assert list(obj.score_history) == [0.9, 0.8] and obj.computed_score == 0.8
    step(obj, None, 2.2)  # looked and missed
    assert list(obj.score_history) == [0.9, 0.8, 0.0]


def test_an_object_that_stops_moving_becomes_still_until_it_moves() -> None:
    tracker = ObjectTracker(max_disappeared=25, empty_timeout=1.0)
    tracker.update([seen("person", (60, 100, 120, 260))], -0.2)
    tracker.update([seen("person", BOX)], 0.0)  # walked in
    for time in (0.2, 0.4, 0.6, 0.8):
        tracker.update([seen("person", BOX)], time)
        assert tracker.still_boxes(time, interval=1.0) == []
    tracker.update([seen("person", (101, 100, 161, 261))], 1.0)  # five matches, barely moved
    assert tracker.still_boxes(1.0, interval=1.0) == [(101, 100, 161, 261)]
    # Not looked at for the interval, it is due for a check instead.
    assert tracker.still_boxes(2.0, interval=1.0) == []
    assert tracker.due_for_check(2.0, interval=1.0) == [(101, 100, 161, 261)]
    tracker.update([seen("person", (140, 100, 200, 260))], 2.0)  # walked on
    assert tracker.still_boxes(2.0, interval=1.0) == []


def test_what_never_moved_is_never_still() -> None:
    tracker = ObjectTracker(max_disappeared=25, empty_timeout=1.0)
    for index in range(10):
        tracker.update([seen("person", BOX)], index / 5)
    assert tracker.still_boxes(1.8, interval=1.0) == []
    assert tracker.due_for_check(5.0, interval=1.0) == []
