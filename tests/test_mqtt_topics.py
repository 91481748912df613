"""What a camera's frames publish (counts, events, snapshots) and the outbox that holds it
for the broker (docs/compatibility.md#mqtt)."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise

import pytest
import simplejpeg
import trio

from nvr.config import NvrConfig
from nvr.detection.frame import ObjectDetection
from nvr.frames import new_frame
from nvr.mqtt.outbox import Message, Outbox
from nvr.mqtt.topics import UPDATE_INTERVAL, CameraTopics, ZoneCounts
from nvr.processing import FrameProcessor
from support import MINIMAL_CAMERA

W, H = 1280, 720
FPS = 5


def message(topic: str, payload: str, retain: bool = False) -> Message:
    return Message(topic, payload.encode(), retain)


def test_a_state_is_replaced_until_sent_and_sent_again_after_a_reconnect() -> None:
    outbox = Outbox({"events": 2})
    outbox.set_state(message("frigate/back/person", "1"))
    outbox.set_state(message("frigate/back/person", "2"))  # replaces the unsent 1
    outbox.set_state(message("frigate/back/car", "0"))
    assert outbox.take() == [message("frigate/back/person", "2"), message("frigate/back/car", "0")]
    assert outbox.dropped == 1
    outbox.set_state(message("frigate/back/car", "0"))  # the value it has: nothing to send
    assert outbox.take() == []
    outbox.reconnected()
    assert {m.topic for m in outbox.take()} == {"frigate/back/person", "frigate/back/car"}
    outbox.resend("frigate/back/car")
    assert outbox.take() == [message("frigate/back/car", "0")]


def test_a_full_queue_drops_its_oldest_messages() -> None:
    outbox = Outbox({"events": 2, "stats": 1})
    for number in range(4):
        outbox.queue("events", message("frigate/events", str(number)))
    outbox.queue("stats", message("frigate/stats", "a"))
    outbox.queue("stats", message("frigate/stats", "b"))
    assert [m.payload for m in outbox.take()] == [b"2", b"3", b"b"]
    assert outbox.dropped == 3


async def test_waiting_ends_when_a_message_comes() -> None:
    outbox = Outbox({"events": 10})
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outbox.wait)
            await trio.testing.wait_all_tasks_blocked()
            outbox.queue("events", message("frigate/events", "{}"))
    assert outbox.take() == [message("frigate/events", "{}")]


ZONED = MINIMAL_CAMERA + """
    zones:
      door: {coordinates: "0,0,640,0,640,720,0,720"}
    mqtt: {required_zones: [door]}
"""


@pytest.fixture
def config(media_config: Callable[[str], NvrConfig]) -> NvrConfig:
    return media_config(ZONED)


class Walk:
    """A camera's processor fed one detection per frame at 5 fps, and its topics."""

    def __init__(self, config: NvrConfig, outbox: Outbox, zones: ZoneCounts,
                 name: str = "back") -> None:
        camera = config.cameras["back"]
        self.processor = FrameProcessor(name, camera, lambda label: (255, 0, 0), None)
        self.topics = CameraTopics("frigate", name, camera, outbox, zones,
                                   lambda label: (255, 0, 0))
        self.frame = new_frame(W, H)
        self.time = 1000.0

    def frame_with(self, *boxes: tuple[int, int, int, int], score: float = 0.9) -> None:
        detections = [ObjectDetection("person", score, box, (box[2] - box[0]) * (box[3] - box[1]),
                                      (0, 0, W, H)) for box in boxes]
        objects = self.processor.objects
        update = objects.update(self.frame, False, self.time, detections)
        self.topics.frame_done(update, objects.objects.values(), self.time)
        self.time += 1 / FPS


def events(outbox: Outbox) -> list[dict]:
    return [json.loads(m.payload) for m in outbox.take() if m.topic == "frigate/events"]


def test_events_new_then_updates_at_most_every_5_s_then_end(config: NvrConfig) -> None:
    outbox = Outbox({"events": 1000})
    walk = Walk(config, outbox, ZoneCounts())
    sent: list[dict] = []
    sent_at: list[float] = []  # frame time of the frame that sent each

    def frame(*boxes: tuple[int, int, int, int]) -> None:
        now = walk.time
        walk.frame_with(*boxes)
        for event in events(outbox):
            sent.append(event)
            sent_at.append(now)

    # A person walking right and growing (a better best frame often), for 20 s.
    for step in range(20 * FPS):
        frame((100 + step * 4, 200, 200 + step * 5, 500 + step))
    for _ in range(40 * FPS):  # then gone: the tracker ends it after max_disappeared
        frame()
    types = [event["type"] for event in sent]
    assert types[0] == "new" and types[-1] == "end"
    assert set(types[1:-1]) == {"update"} and len(types) >= 4
    assert len({event["after"]["id"] for event in sent}) == 1
    for earlier, later in pairwise(sent):
        assert later["before"] == earlier["after"]  # before: what the last message said
    # Rate-limited to one per 5 s of frame time (the end is not).
    assert all(b - a > UPDATE_INTERVAL for a, b in pairwise(sent_at[:-1]))
    new, end = sent[0], sent[-1]
    assert new["before"]["false_positive"] is True and new["after"]["false_positive"] is False
    assert end["after"]["end_time"] is not None and end["before"]["end_time"] is None
    assert end["after"]["entered_zones"] == ["door"]
    assert set(end["after"]) == {
        "id", "camera", "frame_time", "label", "top_score", "false_positive", "start_time",
        "end_time", "score", "box", "area", "region", "current_zones", "entered_zones",
        "thumbnail"}
    assert end["after"]["thumbnail"] is None


def test_a_false_positive_publishes_no_event(config: NvrConfig) -> None:
    outbox = Outbox({"events": 1000})
    walk = Walk(config, outbox, ZoneCounts())
    for _ in range(3 * FPS):
        walk.frame_with((100, 200, 200, 500), score=0.5)  # under the 0.7 threshold
    for _ in range(10 * FPS):
        walk.frame_with()
    assert events(outbox) == []


def counts(outbox: Outbox) -> dict[str, str]:
    """The count messages waiting (not events, not snapshots)."""
    return {m.topic: m.payload.decode() for m in outbox.take()
            if m.topic != "frigate/events" and not m.topic.endswith("/snapshot")}


def test_counts_per_camera_and_zone_summed_over_cameras(config: NvrConfig) -> None:
    outbox, zones = Outbox({"events": 1000}), ZoneCounts()
    back, side = Walk(config, outbox, zones), Walk(config, outbox, zones, name="side")
    assert counts(outbox) == {"frigate/back/person": "0", "frigate/side/person": "0",
                              "frigate/door/person": "0"}
    in_door, outside = (100, 200, 200, 500), (900, 200, 1000, 500)
    for _ in range(3):
        back.frame_with(in_door, outside)
        side.frame_with(in_door)
    assert counts(outbox) == {"frigate/back/person": "2", "frigate/side/person": "1",
                              "frigate/door/person": "2"}
    for _ in range(3):
        back.frame_with(in_door, outside)  # nothing changed: nothing sent
        side.frame_with(in_door)
    assert counts(outbox) == {}
    for _ in range(30 * FPS):
        side.frame_with()
    assert counts(outbox) == {"frigate/side/person": "0", "frigate/door/person": "1"}


async def test_snapshots_follow_the_best_image_and_the_required_zones(
        config: NvrConfig) -> None:
    outbox = Outbox({"events": 1000})
    walk = Walk(config, outbox, ZoneCounts())
    outside = (900, 200, 1000, 500)
    for _ in range(10):
        walk.frame_with(outside)
    topic = "frigate/back/person/snapshot"
    assert walk.topics._snapshots_due == {}  # mqtt.required_zones: [door] not entered
    for _ in range(5):  # into the door zone, a larger box: a new best
        walk.frame_with((520, 150, 620, 520))
    outbox.take()
    sent: list[Message] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(walk.topics.run)
            while not sent:
                await outbox.wait()
                sent = [m for m in outbox.take() if m.topic == topic]
            nursery.cancel_scope.cancel()
    [snapshot] = sent
    assert snapshot.retain
    # The camera's mqtt options: crop and height 270 by default.
    assert simplejpeg.decode_jpeg(snapshot.payload).shape[0] == 270
    outbox.take()
    for _ in range(30 * FPS):
        walk.frame_with()
    # The count fell to 0: the snapshot is sent once more, as Frigate 0.8 does.
    assert topic in {m.topic for m in outbox.take()}

