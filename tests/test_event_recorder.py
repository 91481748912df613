"""The event recorder on a real SQLite file: write cadence, snapshots, retries, shutdown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import simplejpeg
import trio
import trio.testing

from nvr.config import NvrConfig
from nvr.detection.frame import ObjectDetection
from nvr.events import EventStore
from nvr.events.recorder import RETRY_DELAY, EventRecorder
from nvr.frames import new_frame
from nvr.tracking.objects import TrackedObject
from nvr.tracking.state import ObjectsUpdate
from support import MINIMAL_CAMERA, wait_for

W, H = 1280, 720
BOX = (500, 200, 600, 500)


def person(time: float, score: float = 0.9) -> TrackedObject:
    """A true positive with a best frame (two frames seen)."""
    detection = ObjectDetection("person", score, BOX, 100 * 300, (400, 200, 700, 500))
    obj = TrackedObject(f"{time:.6f}-abcdef", "back", detection, time, 0.7)
    frame = new_frame(W, H)
    for step in (0.0, 0.2):
        obj.update(detection, frame, False, time + step, (), (W, H))
    assert not obj.false_positive and obj.best is not None
    return obj


@pytest.fixture
def config(media_config: Callable[[str], NvrConfig]) -> NvrConfig:
    return media_config(MINIMAL_CAMERA + "    snapshots: {enabled: true}\n")


class FailingFirstSaves(EventStore):
    """A store whose first ``failures`` writes fail, as a full or unplugged disk would."""

    failures = 1

    async def save(self, record) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        await super().save(record)


async def test_rows_are_written_when_confirmed_and_ended(config: NvrConfig,
                                                         nursery: trio.Nursery) -> None:
    async with EventStore.open(config.database.path) as store:
        recorder = EventRecorder("back", config.cameras["back"], config.media.clips, store,
                                 lambda label: (255, 0, 0))
        nursery.start_soon(recorder.run)
        obj = person(100.0)
        recorder.frame_done(ObjectsUpdate(confirmed=[obj]), [obj], 100.2)
        await trio.sleep(0.5)
        assert await store.exists(obj.id) and await store.get(obj.id) is None  # in progress
        obj.end(110.0)
        recorder.frame_done(ObjectsUpdate(ended=[obj]), [], 110.0)
        await trio.sleep(0.5)
        saved = await store.get(obj.id)
        assert saved is not None and saved.end_time == 110.0 and saved.has_snapshot
        snapshot = Path(config.media.clips) / f"back-{obj.id}.jpg"
        assert simplejpeg.decode_jpeg(snapshot.read_bytes()).shape == (H, W, 3)
        assert recorder.ending == {}


async def test_an_ended_event_is_written_again_until_it_lands(
        config: NvrConfig, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture,
        mock_clock: trio.testing.MockClock) -> None:
    # The real retry delay in virtual time: the clock jumps to the next timer once the loop
    # has waited 10 ms of real time (for the database and render threads) with nothing to do.
    mock_clock.autojump_threshold = 0.01
    async with FailingFirstSaves.open(config.database.path) as store:
        recorder = EventRecorder("back", config.cameras["back"], config.media.clips, store,
                                 lambda label: (255, 0, 0))
        nursery.start_soon(recorder.run)
        obj = person(100.0)
        obj.end(105.0)
        recorder.frame_done(ObjectsUpdate(ended=[obj]), [], 105.0)
        await wait_for(lambda: "cannot write event" in caplog.text, 60, "the failed write")
        failed_at = trio.current_time()
        assert recorder.ending == {obj.id: obj}  # still served live meanwhile
        await wait_for(lambda: not recorder.ending, 60, "the second write")
        assert trio.current_time() - failed_at >= RETRY_DELAY - 0.05  # seen up to a poll late
        saved = await store.get(obj.id)
        assert saved is not None and saved.end_time == 105.0
        assert recorder.ending == {}


async def test_finish_ends_and_writes_open_events(config: NvrConfig) -> None:
    async with EventStore.open(config.database.path) as store:
        recorder = EventRecorder("back", config.cameras["back"], config.media.clips, store,
                                 lambda label: (255, 0, 0))
        obj = person(100.0)
        obj.end(120.0)
        await recorder.finish([obj], 120.0)
        saved = await store.get(obj.id)
        assert saved is not None and saved.end_time == 120.0 and saved.top_score >= 0.9
