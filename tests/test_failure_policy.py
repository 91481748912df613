"""One failure policy (``nvr.tasks``): no background loop can stop the service.

The loop logic runs under Trio's autojumping mock clock (no waiting); each real background
loop of the service is then given a failing step and must log it once per back-off step and
keep going (on a mock clock running 100x fast); last, a served service with a camera keeps
answering while its loops fail.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from nvr.config import NvrConfig
from nvr.events import retention
from nvr.events.store import EventStore
from nvr.recording import disk_guard, maintenance, recordings
from nvr.recording.segments import SegmentCache
from nvr.tasks import restart_forever, run_every
from nvr.tracking.best import BestObjects
from support import looped_footage, wait_for


def failures(caplog: pytest.LogCaptureFixture, what: str) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.getMessage().startswith(f"{what} failed")]


async def test_run_every_backs_off_while_failing_and_keeps_its_interval_otherwise(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[float] = []

    async def step() -> None:
        calls.append(trio.current_time())
        if len(calls) <= 3:
            raise PermissionError(13, "Permission denied", "/media/frigate/clips")

    with trio.move_on_after(50):
        await run_every("tidying", 5, step, first_after=2)
    assert calls == [2, 7, 17, 37, 42, 47]
    assert failures(caplog, "tidying") == [
        f"tidying failed, retrying in {delay} s: [Errno 13] Permission denied: "
        "'/media/frigate/clips'" for delay in (5, 10, 20)]
    assert all(record.exc_info is None for record in caplog.records)  # a fault, not a bug


async def test_a_bug_is_logged_with_its_traceback_and_retried(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    async def buggy() -> None:
        raise KeyError("oops")

    with trio.move_on_after(200):
        await run_every("counting", 30, buggy)
    delays = [30, 60, 60, 60]  # doubling stops at max(interval, 60 s)
    assert failures(caplog, "counting") == [f"counting failed, retrying in {d} s"
                                            for d in delays]
    assert all(record.exc_info and record.exc_info[0] is KeyError
               for record in caplog.records)


async def test_cancellation_is_not_a_failure(autojump_clock: trio.testing.MockClock,
                                             caplog: pytest.LogCaptureFixture) -> None:
    with trio.move_on_after(1):
        await run_every("sleeping", 10, partial(trio.sleep, 100))
    assert caplog.records == []


async def test_restart_forever_restarts_until_the_task_returns(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    starts: list[float] = []

    async def flaky() -> str:
        starts.append(trio.current_time())
        if len(starts) < 4:
            raise OSError("disk gone")
        return "done"

    await restart_forever("flaky", flaky)
    assert starts == [0, 1, 3, 7]
    assert failures(caplog, "flaky") == [f"flaky failed, retrying in {d} s: disk gone"
                                         for d in (1, 2, 4)]


# -- every background loop of the service, with a failing step -------------------------------

Loop = Callable[[NvrConfig, EventStore, Path], Awaitable[object]]


def refuse(*args: object, **kwargs: object) -> None:
    raise PermissionError(13, "Permission denied")


async def retention_loop(config: NvrConfig, store: EventStore, tmp_path: Path) -> None:
    await retention.run_retention(config, store, interval=30)


async def disk_guard_loop(config: NvrConfig, store: EventStore, tmp_path: Path) -> None:
    await disk_guard.guard_disk(config, store, interval=10)


async def recordings_loop(config: NvrConfig, store: EventStore, tmp_path: Path) -> None:
    await recordings.run_recordings(config, interval=10, expire_interval=60)


async def cache_loop(config: NvrConfig, store: EventStore, tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir(exist_ok=True)
    caches = [SegmentCache("door", tmp_path / "cache")]
    await maintenance.maintain_cache(caches, keep_from=lambda camera: 0.0,
                                     folder=tmp_path / "cache", max_bytes=None,
                                     min_free_bytes=0, interval=5)


LOOPS = {
    # loop, what it logs, what is made to fail, its back-off steps (the first of them at least
    # are seen within 185 s)
    "clip retention": (retention_loop, "clip retention",
                       (retention, "expire_media"), [30, 60, 60, 60]),
    "disk guard": (disk_guard_loop, "disk guard", (disk_guard, "free_space_pass"),
                   [10, 20, 40, 60, 60]),
    "recordings filing": (recordings_loop, "recordings: filing",
                          (recordings, "file_recordings"), [10, 20, 40, 60, 60]),
    "recordings expiry": (recordings_loop, "recordings: expiry",
                          (recordings, "expire_recordings"), [60, 60, 60, 60]),
    "cache maintenance": (cache_loop, "door: cache maintenance",
                          (SegmentCache, "refresh"), [5, 10, 20, 40, 60, 60]),
    "cache trimming": (cache_loop, "cache {tmp}/cache: trimming",
                       (maintenance, "trim_cache"), [5, 10, 20, 40, 60, 60]),
}


@pytest.mark.parametrize("name", LOOPS)
async def test_a_failing_loop_logs_each_back_off_step_and_goes_on(
        name: str, media_config: Callable[[str], NvrConfig], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        mock_clock: trio.testing.MockClock) -> None:
    # Worker threads do real work, so the clock runs (100x faster) instead of jumping.
    mock_clock.rate = 100
    loop, what, (owner, attribute), delays = LOOPS[name]
    what = what.format(tmp=tmp_path)
    monkeypatch.setattr(owner, attribute, refuse)
    config = media_config("cameras:" + looped_footage("door")
                          .replace("roles: [detect]", "roles: [detect, clips, record]")
                          + "    record: {enabled: true}\n")
    caplog.set_level(logging.WARNING)
    async with EventStore.open(config.database.path) as store:
        with trio.move_on_after(185) as scope:
            await loop(config, store, tmp_path)
    assert scope.cancelled_caught  # still running when cancelled: nothing propagated
    logged = failures(caplog, what)
    logged_delays = [float(line.split(" s:")[0].rsplit(" ", 1)[1]) for line in logged]
    # One line per failed step; the clock runs, so a step more may fall within the time.
    assert logged_delays[:len(delays)] == delays
    assert len(logged_delays) <= len(delays) + 1
    assert set(logged_delays[len(delays):]) <= {60.0}
    assert all("Permission denied" in line for line in logged)


# -- the whole service ------------------------------------------------------------------------

@pytest.mark.slow
async def test_the_service_stays_up_while_its_loops_fail(
        media_config: Callable[[str], NvrConfig], serve, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(SegmentCache, "refresh", refuse)
    monkeypatch.setattr(BestObjects, "save", refuse)
    monkeypatch.setattr(recordings, "file_recordings", refuse)
    config = media_config("cameras:" + looped_footage("door")
                          .replace("roles: [detect]", "roles: [detect, clips, record]")
                          + "    record: {enabled: true}\n")
    served = await serve(config, cameras=True)
    camera = served.service.cameras["door"]
    await wait_for(lambda: len(failures(caplog, "recordings: filing")) >= 2, 30,
                   "two failed filing passes")
    assert failures(caplog, "door: saving best images")
    assert failures(caplog, "door: cache maintenance")
    frames = camera.latest.frame.index
    response = await served.client.get("/api/stats")
    assert response.status_code == 200 and response.json()["door"]["camera_fps"] > 0
    await wait_for(lambda: camera.latest.frame.index > frames, 5, "more frames")
