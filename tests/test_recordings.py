"""24/7 recordings (filing, expiry), clip retention and the disk guard, on real files."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio

from nvr.config import NvrConfig, load_config
from nvr.config.ffmpeg import ffmpeg_executable
from nvr.config.schema import MediaConfig
from nvr.events import EventQuery, EventRecord, EventStore
from nvr.events.retention import CLIPS, clip_retain_days, expire_media, run_retention
from nvr.recording import disk_guard
from nvr.recording.disk_guard import (
    MIB,
    free_floor,
    free_space_pass,
    guard_disk,
    guard_pass,
)
from nvr.recording.recordings import (
    CLOSED_AFTER_S,
    Recording,
    expire_recordings,
    file_recordings,
    has_moov,
    run_recordings,
)
from support import FOOTAGE, shared_file

DAY = 86_400.0
NOW = time.time()


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 2-second mp4 segment (stream copy of the shared test video)."""
    out = tmp_path_factory.mktemp("segment") / "segment.mp4"
    subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y",
         "-i", str(shared_file(FOOTAGE)),
         "-t", "2", "-c", "copy", "-an", str(out)],
        check=True, timeout=60)
    return out.read_bytes()


def put(path: Path, data: bytes, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def event(event_id: str, start: float, *, camera: str = "front", label: str = "person",
          has_clip: bool = True) -> EventRecord:
    return EventRecord(id=event_id, camera=camera, label=label, start_time=start,
                       end_time=start + 10, top_score=0.8, false_positive=False, zones=(),
                       thumbnail="dGh1bWI=", has_clip=has_clip, has_snapshot=True,
                       last_seen=start + 10)


# -- filing ---------------------------------------------------------------------------------

def test_filing_moves_closed_segments_and_deletes_bad_ones(
        tmp_path: Path, segment: bytes, caplog: pytest.LogCaptureFixture) -> None:
    rec = tmp_path / "rec"
    old, recent = NOW - 3 * 60, NOW - 5
    put(rec / "front-20210604101500.mp4", segment, old - 120)
    put(rec / "front-20210604101600.mp4", segment, old - 60)
    put(rec / "front-20210604101630.mp4", b"", old - 30)             # empty, closed: bad
    put(rec / "front-20210604101645.mp4", segment[:len(segment) // 2], old - 20)  # no moov
    newest = put(rec / "front-20210604101700.mp4", segment[:1000], recent)  # being written
    stopped = put(rec / "back-yard-20210604235959.mp4", segment, NOW - CLOSED_AFTER_S - 1)
    unknown = put(rec / "gone-20210605000000.mp4", segment, recent)  # no writer: closed
    other = put(rec / "notes.txt", b"keep", old)
    odd = put(rec / "front-2021.mp4", b"keep", old)

    with caplog.at_level(logging.INFO, logger="nvr.recording.recordings"):
        assert file_recordings(rec, {"front", "back-yard"}, NOW) == 4

    filed = sorted(str(path.relative_to(rec)) for path in rec.rglob("*.mp4")
                   if path.parent != rec)
    assert filed == ["2021-06/04/10/front/15.00.mp4", "2021-06/04/10/front/16.00.mp4",
                     "2021-06/04/23/back-yard/59.59.mp4", "2021-06/05/00/gone/00.00.mp4"]
    filed_file = rec / "2021-06/04/10/front/15.00.mp4"
    assert filed_file.read_bytes() == segment and has_moov(filed_file)
    assert filed_file.stat().st_mtime == pytest.approx(old - 120)  # mtime kept for expiry
    assert newest.exists() and other.exists() and odd.exists()
    assert not stopped.exists() and not unknown.exists()
    assert not (rec / "front-20210604101630.mp4").exists()
    assert not (rec / "front-20210604101645.mp4").exists()
    bad = sorted(r.getMessage() for r in caplog.records if r.getMessage().startswith("bad file"))
    assert bad == ["bad file: front-20210604101630.mp4", "bad file: front-20210604101645.mp4"]

    # Once the writer has stopped for two minutes, the last one is closed too (and bad here).
    assert file_recordings(rec, {"front"}, NOW + CLOSED_AFTER_S) == 0
    assert not newest.exists()


def test_filing_keeps_both_segments_of_a_repeated_local_time(tmp_path: Path,
                                                             segment: bytes) -> None:
    rec = tmp_path / "rec"
    taken = put(rec / "2021-10/31/02/front/30.05.mp4", b"first", NOW - DAY)
    put(rec / "front-20211031023005.mp4", segment, NOW - 600)  # clocks went back an hour
    assert file_recordings(rec, {"front"}, NOW) == 1
    assert taken.read_bytes() == b"first"
    assert (rec / "2021-10/31/02/front/30.06.mp4").read_bytes() == segment


def test_local_start_time_names_the_folders(tmp_path: Path, segment: bytes) -> None:
    start = time.localtime(1_622_800_000)  # what ffmpeg's -strftime writes: local time
    rec = tmp_path / "rec"
    put(rec / f"cam-{time.strftime('%Y%m%d%H%M%S', start)}.mp4", segment, NOW - 600)
    assert file_recordings(rec, (), NOW) == 1
    assert (rec / time.strftime("%Y-%m/%d/%H/cam/%M.%S.mp4", start)).exists()


# -- expiry ---------------------------------------------------------------------------------

def test_expiry_by_mtime_per_camera(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    files = {
        "2021-06/01/10/front/00.00.mp4": NOW - 2 * DAY,    # front keeps 1 day: expires
        "2021-06/01/10/front/01.00.mp4": NOW - 2 * DAY,    # expires; hour folder emptied
        "2021-06/03/10/front/00.00.mp4": NOW - 0.5 * DAY,  # kept
        "2021-06/01/10/back/00.00.mp4": NOW - 2 * DAY,     # back keeps 3 days: kept
        "2021-06/01/11/back/00.00.mp4": NOW - 4 * DAY,     # expires (mtime, not path, counts)
        "2021-06/01/11/gone/00.00.mp4": NOW - 400 * DAY,   # unknown camera: never expired
    }
    for name, mtime in files.items():
        put(rec / name, b"x", mtime)
    outside = put(rec / "exports" / "front" / "00.00.mp4", b"keep", NOW - 400 * DAY)
    unfiled = put(rec / "front-20210601100000.mp4", b"keep", NOW - 400 * DAY)
    (rec / "2021-05" / "31" / "23").mkdir(parents=True)  # empty folders go

    assert expire_recordings(rec, {"front": 1, "back": 3}, NOW) == 3

    left = sorted(str(path.relative_to(rec)) for path in rec.rglob("*.mp4"))
    assert left == ["2021-06/01/10/back/00.00.mp4", "2021-06/01/11/gone/00.00.mp4",
                    "2021-06/03/10/front/00.00.mp4", "exports/front/00.00.mp4",
                    "front-20210601100000.mp4"]
    assert outside.exists() and unfiled.exists()
    assert not (rec / "2021-06/01/10/front").exists()
    assert not (rec / "2021-06/01/11/back").exists()
    assert not (rec / "2021-05").exists()

    assert expire_recordings(rec, {"front": 0, "back": 0, "gone": 0}, NOW) == 3
    assert sorted(path.name for path in rec.iterdir()) == ["exports", "front-20210601100000.mp4"]
    outside.unlink()
    unfiled.unlink()
    assert expire_recordings(rec, {}, NOW) == 0
    assert rec.is_dir() and not any(rec.iterdir())  # the root stays


async def test_run_recordings_files_expires_and_survives_errors(
        tmp_path: Path, segment: bytes, caplog: pytest.LogCaptureFixture) -> None:
    rec = tmp_path / "rec"
    config = load_config(_write(tmp_path, f"""
        media: {{clips: {tmp_path}/clips, recordings: {rec}, cache: {tmp_path}/cache}}
        cameras:
          front:
            ffmpeg: {{inputs: [{{path: rtsp://127.0.0.1/a, roles: [detect, record]}}]}}
            width: 640
            height: 360
            record: {{enabled: true, retain_days: 1}}
        """), {})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(functools.partial(run_recordings, config, interval=0.05))
        with trio.fail_after(5):  # passes on a missing folder are logged, and the loop goes on
            while sum("failed" in r.getMessage() for r in caplog.records) < 2:
                await trio.sleep(0.02)
        now = time.time()  # run_recordings works in real time: not the module's NOW
        put(rec / "front-20210604101500.mp4", segment, now - 600)
        put(rec / "front-20210604101600.mp4", segment, now - 60)
        put(rec / "2021-01/01/00/front/00.00.mp4", b"x", now - 2 * DAY)
        with trio.fail_after(5):
            while not (rec / "2021-06/04/10/front/15.00.mp4").exists():
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    assert (rec / "front-20210604101600.mp4").exists()  # the newest, still being written
    # Expiry ran at start only: the old recording added afterwards waits for the next run.
    assert (rec / "2021-01/01/00/front/00.00.mp4").exists()
    assert any("filing failed" in r.getMessage() for r in caplog.records)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent(text))
    return path


# -- clip retention -------------------------------------------------------------------------

CLIP_RETENTION_CONFIG = """
clips: {retain: {default: 5}}
cameras:
  front:
    ffmpeg: {inputs: [{path: rtsp://127.0.0.1/a, roles: [detect, clips]}]}
    width: 640
    height: 360
    clips: {enabled: true, retain: {default: 10, objects: {car: 2}}}
  back:
    ffmpeg: {inputs: [{path: rtsp://127.0.0.1/a, roles: [detect, clips]}]}
    width: 640
    height: 360
    clips: {enabled: true}
"""


async def test_clip_retention(media_config: Callable[[str], NvrConfig]) -> None:
    config = media_config(textwrap.dedent(CLIP_RETENTION_CONFIG))
    clips = Path(config.media.clips)
    clips.mkdir(parents=True)
    now = 1_700_000_000.0
    assert clip_retain_days(config, "front", "car") == 2
    assert clip_retain_days(config, "front", "person") == 10
    assert clip_retain_days(config, "back", "car") == 5
    assert clip_retain_days(config, "gone", "car") == 5

    rows = [
        event("a-car-old", now - 3 * DAY, label="car"),          # expires
        event("b-car-new", now - 1 * DAY, label="car"),          # kept
        event("c-person-11d", now - 11 * DAY),                   # expires
        event("d-back-6d", now - 6 * DAY, camera="back"),        # expires
        event("e-back-4d", now - 4 * DAY, camera="back"),        # kept
        event("f-gone-6d", now - 6 * DAY, camera="gone"),        # global 5: expires
        event("g-no-clip", now - 30 * DAY, has_clip=False),      # nothing to do
    ]
    expired = {"a-car-old", "c-person-11d", "d-back-6d", "f-gone-6d"}
    for row in rows:
        (clips / f"{row.camera}-{row.id}.mp4").write_bytes(b"mp4")
        (clips / f"{row.camera}-{row.id}.jpg").write_bytes(b"jpg")

    async with EventStore.open(config.database.path) as store:
        await store.save_many(rows)
        assert await expire_media(config, store, CLIPS, now) == len(expired)
        for row in rows:
            assert (clips / f"{row.camera}-{row.id}.mp4").exists() == (row.id not in expired)
            assert (clips / f"{row.camera}-{row.id}.jpg").exists()  # snapshots: own setting
            stored = await store.get(row.id)
            assert stored is not None and stored.has_snapshot
            assert stored.has_clip == (row.has_clip and row.id not in expired), row.id
        assert await expire_media(config, store, CLIPS, now) == 0


async def test_retention_loop_expires_clips_and_snapshots(
        media_config: Callable[[str], NvrConfig]) -> None:
    config = media_config(textwrap.dedent(CLIP_RETENTION_CONFIG))
    clips = Path(config.media.clips)
    clips.mkdir(parents=True)
    old = event("1.0-aaaaaa", time.time() - 30 * DAY)
    for suffix in (".mp4", ".jpg"):
        (clips / f"front-{old.id}{suffix}").write_bytes(b"x")
    async with EventStore.open(config.database.path) as store:
        await store.save(old)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: run_retention(config, store, interval=0.02))
            with trio.fail_after(5):
                while (stored := await store.get(old.id)) is None or stored.has_snapshot:
                    await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
        assert not stored.has_clip and not stored.has_snapshot
    assert not any(clips.glob("front-1.0-aaaaaa.*"))


# -- disk guard -----------------------------------------------------------------------------

def test_floor_is_the_larger_of_the_two_settings() -> None:
    media = MediaConfig()
    assert free_floor(media, 10_000 * MIB) == 1024 * MIB        # 5 % is 500 MiB
    assert free_floor(media, 100_000 * MIB) == 5_000 * MIB      # 5 % is more than 1 GiB
    assert free_floor(MediaConfig(min_free_mb=0, min_free_percent=0), 10**12) == 0
    # A 512 MiB filesystem: the 1 GiB floor would have every file deleted; a fifth instead.
    assert free_floor(media, 512 * MIB) == int(512 * MIB * 0.2)


async def test_guard_is_off_when_both_settings_are_zero(
        media_config: Callable[[str], NvrConfig]) -> None:
    config = media_config(textwrap.dedent(CLIP_RETENTION_CONFIG))
    off = _with_media(config, min_free_mb=0, min_free_percent=0.0)
    async with EventStore.open(off.database.path) as store:
        with trio.fail_after(1):
            await guard_disk(off, store)  # returns at once


def _with_media(config: NvrConfig, **changes: object) -> NvrConfig:
    return config.model_copy(update={"media": config.media.model_copy(update=changes)})


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A fresh 20 MiB tmpfs (needs root: the test is skipped otherwise)."""
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        pytest.skip("the disk guard test mounts a tmpfs: needs root and mount(8)")
    point = tmp_path / "volume"
    point.mkdir()
    result = subprocess.run([mount, "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {result.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _free(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def _floor_percent(volume: Path, wanted_target: int) -> float:
    """The min_free_percent whose floor plus margin is ``wanted_target`` bytes."""
    stat = os.statvfs(volume)
    total = stat.f_blocks * stat.f_frsize
    return wanted_target / 1.1 / total * 100


async def test_disk_guard_deletes_oldest_recordings_then_clips(
        small_filesystem: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    volume = small_filesystem
    stat = os.statvfs(volume)
    assert stat.f_blocks * stat.f_frsize == 20 * MIB
    rec, clips = volume / "rec", volume / "clips"
    config = load_config(_write(tmp_path, f"""
        media: {{clips: {clips}, recordings: {rec}, cache: {tmp_path}/cache,
                 min_free_mb: 0, min_free_percent: 0}}
        cameras:
          front:
            ffmpeg: {{inputs: [{{path: rtsp://127.0.0.1/a, roles: [detect, clips, record]}}]}}
            width: 640
            height: 360
            record: {{enabled: true}}
        """), {})
    mib = bytes(MIB)
    recordings = [put(rec / f"2021-06/04/{hour}/{camera}/{minute}.00.mp4", mib, NOW)
                  for hour in ("10", "11") for minute in ("00", "01", "02")
                  for camera in ("back-yard", "front")]  # oldest first
    unfiled = put(rec / "front-20210604120000.mp4", mib, NOW)
    best = put(clips / "best" / "front" / "person.jpg", bytes(100_000), NOW)
    events = [event(f"{start}.000000-abcdef", float(start)) for start in (1000, 2000, 3000, 4000)]
    clip_files = [put(clips / f"front-{row.id}.mp4", mib, NOW - int(row.start_time))
                  for row in events]  # mtimes in the opposite order: the event time counts
    snapshots = [put(clips / f"front-{row.id}.jpg", bytes(10_000), NOW) for row in events]
    database = Path(config.database.path)
    assert database.parent == clips

    async with EventStore.open(database) as store:
        await store.save_many(events)
        assert await guard_pass(_with_media(config, min_free_mb=1), store) == \
            free_space_pass(config)  # both floors below the free space: nothing happens
        assert all(path.exists() for path in recordings)

        # 1.5 MiB short of floor + margin: the two oldest recordings go.
        config = _with_media(config, min_free_percent=_floor_percent(
            volume, _free(volume) + MIB * 3 // 2))
        freed = await guard_pass(config, store)
        assert (freed.recordings, freed.recording_bytes, freed.clip_ids) == (2, 2 * MIB, [])
        assert [path.exists() for path in recordings] == [False] * 2 + [True] * 10
        assert not (rec / "2021-06/04/10/back-yard/00.00.mp4").exists()

        # All other recordings and 1.5 MiB more: then the two oldest clips, by event time.
        config = _with_media(config, min_free_percent=_floor_percent(
            volume, _free(volume) + 10 * MIB + MIB * 3 // 2))
        freed = await guard_pass(config, store)
        assert freed.recordings == 10 and not any(path.exists() for path in recordings)
        batches = [record.getMessage() for record in caplog.records
                   if "disk guard: deleted" in record.getMessage()]
        assert batches[-2].startswith("disk guard: deleted 10 recording(s), 10.0 MiB")
        assert batches[-1].startswith("disk guard: deleted 2 clip(s), 2.0 MiB")
        assert freed.clip_ids == [events[0].id, events[1].id]
        assert freed.clip_bytes == 2 * MIB
        assert [path.exists() for path in clip_files] == [False, False, True, True]
        assert [(await store.get(row.id)).has_clip for row in events] == \
            [False, False, True, True]

        # A floor beyond reach: everything the guard may delete goes, nothing else.
        freed = await guard_pass(_with_media(config, min_free_percent=90.0), store)
        assert freed.clip_ids == [events[2].id, events[3].id]
        assert not any(path.exists() for path in clip_files)
        assert all(path.exists() for path in [unfiled, best, *snapshots])
        assert database.exists() and await store.get(events[0].id) is not None
        assert len(json.loads(await store.events_json(EventQuery()))) == 4



def test_guard_pass_survives_files_gone_meanwhile(
        media_config: Callable[[str], NvrConfig], monkeypatch: pytest.MonkeyPatch) -> None:
    config = media_config(textwrap.dedent(CLIP_RETENTION_CONFIG))
    rec = Path(config.media.recordings)
    Path(config.media.clips).mkdir(parents=True)
    kept = put(rec / "2021-06/04/10/front/01.00.mp4", bytes(MIB), NOW)
    real = disk_guard.filed_recordings

    def racing(folder: Path) -> Iterator[Recording]:
        yield Recording(folder / "2021-06/04/10/front/00.00.mp4", "front")  # deleted meanwhile
        yield from real(folder)

    monkeypatch.setattr(disk_guard, "filed_recordings", racing)
    total = 100 * MIB
    free_blocks = (MIB // 2) // 4096
    low = SimpleNamespace(f_blocks=total // 4096, f_frsize=4096, f_bavail=free_blocks,
                          f_bfree=free_blocks)
    config = _with_media(config, min_free_mb=1, min_free_percent=0.0)
    freed = free_space_pass(config, statvfs=lambda _: low)  # type: ignore[arg-type, return-value]
    assert freed.recordings == 1 and not kept.exists()
