"""One event per visit: the real pipeline (motion, the SSD, tracking) over the shared footage.

The one-by-one clip shows six people who walk in one at a time, stand at the table (some of
them still for seconds) and leave, with empty stretches of 3 to 7 s between them. Each must
be an event of their own, starting and ending with what the footage shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from nvr.capture.decode import decode_file, split_frames
from nvr.capture.pool import FramePool
from nvr.config import load_config
from nvr.detection import create_detector
from nvr.detection.frame import FrameDetector
from nvr.processing import FrameProcessor
from nvr.tracking.state import ObjectsUpdate
from support import SSD, SSD_LABELS, shared_file

pytestmark = pytest.mark.slow

FPS = 5
# Seconds of the clip with someone in view: from a whole-frame YOLOX pass at 4 fps (score
# >= 0.6), its boundaries checked by eye on the frames (e.g. the first visitor is half out of
# the picture at 19.5 s and gone at 20.0 s; the second walks in at 22.5 s).
ONE_BY_ONE_VISITS = [(6.0, 19.5), (22.75, 44.25), (50.5, 69.5), (74.5, 86.5), (93.0, 119.5),
                     (123.5, 135.75)]


@dataclass
class Event:
    id: str
    label: str
    start: float
    end: float | None = None


class EventLog:
    """What the event recorder would record: true positives, from confirmation to removal."""

    def __init__(self) -> None:
        self.events: dict[str, Event] = {}

    def frame_done(self, update: ObjectsUpdate, objects: object, frame_time: float) -> None:
        for obj in update.confirmed:
            self.events[obj.id] = Event(obj.id, obj.label, obj.start_time)
        for obj in update.ended:
            if obj.id in self.events:
                self.events[obj.id].end = obj.end_time


async def events_of(clip: str, width: int, height: int, track: list[str],
                    tmp_path: Path) -> list[Event]:
    """The events of ``clip`` played at 5 fps through motion, the SSD and tracking."""
    config_file = tmp_path / "config.yml"
    config_file.write_text(
        f"cameras:\n  cam:\n    ffmpeg: {{inputs: [{{path: /clip.mp4, roles: [detect]}}]}}\n"
        f"    width: {width}\n    height: {height}\n    fps: {FPS}\n"
        f"    objects: {{track: [{', '.join(track)}]}}\n")
    camera = load_config(config_file, {}).cameras["cam"]
    detector = create_detector("cpu", shared_file(SSD), shared_file(SSD_LABELS), num_threads=1)

    async def detect(tensor: np.ndarray, min_score: float) -> list:
        return detector.detect(tensor, min_score)

    processor = FrameProcessor("cam", camera, lambda label: (255, 0, 0), None)
    frame_detector = FrameDetector(camera, detect, detector.input_size)
    pool, log = FramePool(width, height), EventLog()
    raw = decode_file(shared_file(f"media/{clip}"), filters=f"fps={FPS}")
    frames = split_frames(raw, width, height)
    for index, buffer in enumerate(frames):
        frame = pool.take()
        frame.buffer[:] = buffer
        frame.time = index / FPS
        await processor.process(frame, frame_detector, [log])
        pool.give_back(frame)
    for obj in processor.objects.end_all(len(frames) / FPS):
        if obj.id in log.events:
            log.events[obj.id].end = obj.end_time
    return sorted(log.events.values(), key=lambda event: event.start)


def overlap(event: Event, visit: tuple[float, float]) -> float:
    assert event.end is not None
    return min(event.end, visit[1]) - max(event.start, visit[0])


async def test_each_visitor_of_the_one_by_one_clip_is_one_event(tmp_path: Path) -> None:
    events = await events_of("intel_one_by_one_person_detection_768x432.mp4", 768, 432,
                             ["person"], tmp_path)
    found = [(round(event.start, 1), round(event.end or 0, 1)) for event in events]
    print(f"visits {ONE_BY_ONE_VISITS}\nevents {found}")
    # No two visitors share an event, and no visitor is split into two (the ones standing
    # still at the table included).
    for event in events:
        visits = [visit for visit in ONE_BY_ONE_VISITS if overlap(event, visit) > 0]
        assert len(visits) == 1, f"event {event} spans the visits {visits}"
    for visit in ONE_BY_ONE_VISITS:
        matching = [event for event in events if overlap(event, visit) > 0]
        assert len(matching) == 1, f"visit {visit} has the events {matching}"
        [event] = matching
        assert event.label == "person"
        assert visit[0] - 1.0 <= event.start <= visit[0] + 1.5, (visit, event)
        assert event.end is not None and visit[1] <= event.end <= visit[1] + 2.0, (visit, event)
