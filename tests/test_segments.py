"""The segment cache with real ffmpeg segments: durations without ffprobe, open and closed
files, bad files, trimming, and the supervised segment writer."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
import trio

from nvr.config import NvrConfig
from nvr.config.ffmpeg import SEGMENT_NAME, FfmpegCommand, camera_commands, ffmpeg_executable
from nvr.config.schema import OutputArgsConfig
from nvr.recording import segments as segments_module
from nvr.recording.maintenance import maintain_cache
from nvr.recording.segments import (
    BadSegment,
    SegmentCache,
    parse_segment_name,
    segment_duration,
    trim_cache,
)
from nvr.recording.writer import default_stall_timeout, supervise_writer
from support import CYCLIST, FOOTAGE, ffmpeg_major, shared_file, wait_for

T0 = datetime(2024, 1, 1, 12, 0, 0)  # local time, as in the file names
EPOCH0 = T0.timestamp()


def ffmpeg_says(path: Path) -> float:
    """The duration ffmpeg itself states for a file."""
    result = subprocess.run([ffmpeg_executable(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True, timeout=30, check=False)
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", result.stderr).groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three real cache segments (10 s, 10 s, 5.1 s) of the footage, written with the
    project's clips output arguments at 4x speed (names have a 1 s resolution)."""
    folder = tmp_path_factory.mktemp("made")
    subprocess.run([
        ffmpeg_executable(), "-hide_banner", "-loglevel", "error",
        "-readrate", "4", "-t", "25", "-i", str(shared_file(FOOTAGE)),
        *OutputArgsConfig().clips, str(folder / f"cam-{SEGMENT_NAME}"),
    ], check=True, timeout=60)
    files = sorted(folder.glob("cam-*.mp4"))
    assert len(files) == 3, files
    return files


def place(source: Path, folder: Path, camera: str, start: datetime | float) -> Path:
    """Copy a segment into ``folder`` under the name ffmpeg gives one started at ``start``
    (a local time, or seconds after T0)."""
    when = start if isinstance(start, datetime) else T0 + timedelta(seconds=start)
    path = folder / f"{camera}-{when:%Y%m%d%H%M%S}.mp4"
    shutil.copyfile(source, path)
    return path


def names(cache: SegmentCache) -> list[str]:
    return [segment.path.name for segment in cache.segments]


def name(camera: str, offset: float) -> str:
    return f"{camera}-{T0 + timedelta(seconds=offset):%Y%m%d%H%M%S}.mp4"


# Durations ---------------------------------------------------------------------------


def test_mp4_durations_come_from_the_boxes_and_match_ffmpeg(
    made: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    footage = shared_file(FOOTAGE)  # moov first and a 64-bit mdat size
    files = [*made, footage]
    expected = [ffmpeg_says(path) for path in files]

    def no_ffmpeg(*args: object, **kwargs: object) -> None:
        raise AssertionError("ffmpeg run for an mp4 file")

    monkeypatch.setattr(segments_module.subprocess, "run", no_ffmpeg)
    durations = [segment_duration(path) for path in files]

    assert durations == pytest.approx(expected, abs=0.1)
    assert durations == pytest.approx([10.0, 10.0, 5.1, 139.4], abs=0.1)


def test_other_containers_are_measured_by_ffmpeg() -> None:
    assert segment_duration(shared_file(CYCLIST)) == pytest.approx(30.0, abs=0.1)


def test_truncated_and_unfinished_files_are_bad(made: list[Path], tmp_path: Path) -> None:
    data = made[0].read_bytes()
    cases = {
        "truncated.mp4": data[:len(data) // 2],
        "unfinished.mp4": data[:48],  # ftyp, free, mdat of size 0: a writer killed mid-segment
        "empty.mp4": b"",
        "text.mp4": b"not a video at all\n",
    }
    for file_name, content in cases.items():
        (tmp_path / file_name).write_bytes(content)
        with pytest.raises(BadSegment):
            segment_duration(tmp_path / file_name)
    with pytest.raises(FileNotFoundError):
        segment_duration(tmp_path / "gone.mp4")


def test_segment_names() -> None:
    assert parse_segment_name("front-door-20240101120000.mp4") == (
        "front-door", datetime(2024, 1, 1, 12, 0, 0))
    assert parse_segment_name("front-20240101120010.mp4") == (
        "front", datetime(2024, 1, 1, 12, 0, 10))
    for other in ("front-2024010112000.mp4", "front-20241301120000.mp4", "20240101120000.mp4",
                  "front-20240101120000.mp4.tmp"):
        assert parse_segment_name(other) is None


# The cache ---------------------------------------------------------------------------


def test_newest_file_is_open_until_a_newer_one_appears_or_the_writer_stops(
    made: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    real_duration = segments_module.segment_duration
    monkeypatch.setattr(segments_module, "segment_duration",
                        lambda path: reads.append(path) or real_duration(path))
    cache = SegmentCache("front", tmp_path)
    place(made[0], tmp_path, "front", 0)
    place(made[1], tmp_path, "front", 10)
    place(made[2], tmp_path, "front-door", 30)  # another camera, whose name has a dash
    place(made[2], tmp_path, "back", 30)

    cache.refresh()
    assert names(cache) == [name("front", 0)]

    place(made[2], tmp_path, "front", 20)
    cache.refresh()
    assert names(cache) == [name("front", 0), name("front", 10)]

    cache.writer_stopped()
    cache.refresh()
    assert names(cache) == [name("front", 0), name("front", 10), name("front", 20)]
    assert [segment.start for segment in cache.segments] == [EPOCH0, EPOCH0 + 10, EPOCH0 + 20]
    assert [segment.duration for segment in cache.segments] == pytest.approx([10, 10, 5.1],
                                                                            abs=0.1)
    assert {segment.camera for segment in cache.segments} == {"front"}

    # The restarted writer's first file is open, although the writer stopped before.
    place(made[0], tmp_path, "front", datetime.now().replace(microsecond=0) + timedelta(seconds=2))
    cache.refresh()
    assert len(cache.segments) == 3
    assert len(reads) == 3  # each closed file was read once

    (tmp_path / name("front", 0)).unlink()  # deleted behind the cache's back: forgotten
    cache.refresh()
    assert names(cache) == [name("front", 10), name("front", 20)]


def test_bad_files_are_logged_and_deleted(
    made: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    truncated = place(made[0], tmp_path, "front", 0)
    truncated.write_bytes(made[0].read_bytes()[:100_000])
    unfinished = place(made[0], tmp_path, "front", 10)
    unfinished.write_bytes(made[0].read_bytes()[:48])
    empty = place(made[0], tmp_path, "front", 20)
    empty.write_bytes(b"")
    place(made[1], tmp_path, "front", 30)
    newest = place(made[0], tmp_path, "front", 40)
    newest.write_bytes(made[0].read_bytes()[:48])  # being written: left alone
    cache = SegmentCache("front", tmp_path)

    cache.refresh()

    assert names(cache) == [name("front", 30)]
    for bad in (truncated, unfinished, empty):
        assert not bad.exists()
        assert f"bad file: {bad.name}" in caplog.text
    assert newest.exists()
    assert f"bad file: {newest.name}" not in caplog.text


def test_covering_newest_end_trim_and_size(made: list[Path], tmp_path: Path) -> None:
    cache = SegmentCache("front", tmp_path)
    assert cache.newest_end() is None
    files = [place(source, tmp_path, "front", offset)
             for source, offset in zip(made, (0, 10, 20), strict=True)]
    cache.writer_stopped()
    cache.refresh()
    first, second, third = cache.segments

    assert cache.covering(EPOCH0 + 12, EPOCH0 + 15) == [second]
    assert cache.covering(EPOCH0 + 5, EPOCH0 + 21) == [first, second, third]
    assert cache.covering(EPOCH0 + 30, EPOCH0 + 40) == []
    assert cache.covering(EPOCH0 - 20, EPOCH0 - 10) == []
    assert cache.newest_end() == pytest.approx(EPOCH0 + 25.1, abs=0.1)
    assert third.end == pytest.approx(EPOCH0 + 25.1, abs=0.1)

    assert cache.trim(EPOCH0 + 20.5) == [first, second]

    assert cache.segments == [third]
    assert [path.exists() for path in files] == [False, False, True]
    assert cache.trim(EPOCH0 + 20.5) == []


def test_trim_cache_deletes_the_oldest_closed_segments_across_cameras(
    made: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for index, offset in enumerate((0, 20, 40, 60)):
        place(made[index % 3], tmp_path, "a", offset)
        place(made[(index + 1) % 3], tmp_path, "b", offset + 10)
    caches = [SegmentCache("a", tmp_path), SegmentCache("b", tmp_path)]
    for cache in caches:
        cache.refresh()
    total = sum(path.stat().st_size for path in tmp_path.iterdir())
    size = {path.name: path.stat().st_size for path in tmp_path.iterdir()}

    assert trim_cache(tmp_path, caches, max_bytes=total, min_free_bytes=0) == []
    # Over by one byte more than the oldest segment: the two oldest must go.
    limit = total - size[name("a", 0)] - 1
    deleted = trim_cache(tmp_path, caches, max_bytes=limit, min_free_bytes=0)

    assert [segment.path.name for segment in deleted] == [name("a", 0), name("b", 10)]
    assert not (tmp_path / name("a", 0)).exists()
    assert not (tmp_path / name("b", 10)).exists()
    assert names(caches[0]) == [name("a", 20), name("a", 40)]
    assert "deleted the 2 oldest segments" in caplog.text
    assert name("b", 10) in caplog.text

    # A file gone behind the cache's back, then limits nothing can meet: no crash, and the
    # segments being written (the newest of each camera) are never deleted.
    (tmp_path / name("a", 20)).unlink()
    caplog.clear()
    needed = (T0 + timedelta(seconds=35)).timestamp()
    deleted = trim_cache(tmp_path, caches, max_bytes=0, min_free_bytes=0,
                         needed_from={"a": needed})

    # What an open event of camera a needs (from 35 s on) goes last.
    assert [segment.path.name for segment in deleted] == [
        name("a", 20), name("b", 30), name("b", 50), name("a", 40)]
    assert sorted(path.name for path in tmp_path.iterdir()) == [name("a", 60), name("b", 70)]
    assert "still over its limits" in caplog.text
    assert trim_cache(tmp_path, caches, max_bytes=0, min_free_bytes=0) == []
    assert trim_cache(tmp_path / "missing", caches, max_bytes=0, min_free_bytes=0) == []


async def test_maintenance_drops_what_no_event_needs_and_survives_errors(
    made: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for camera in ("a", "b"):
        for offset in (0, 10, 20, 30):
            place(made[0], tmp_path, camera, offset)
    caches = [SegmentCache("a", tmp_path), SegmentCache("b", tmp_path)]

    def keep_from(camera: str) -> float:
        if camera == "b":
            raise RuntimeError("no events for b")
        return EPOCH0 + 15 + 90  # an open event of a started at T0 + 15

    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(maintain_cache, caches, keep_from=keep_from, folder=tmp_path,
                                   max_bytes=None, min_free_bytes=0, interval=0.05))
        await wait_for(lambda: caplog.text.count("b: cache maintenance failed") >= 2, 5,
                       "two rounds")
        nursery.cancel_scope.cancel()

    # The segment ending at T0 + 10 is not needed any more, the next one is.
    assert names(caches[0]) == [name("a", 10), name("a", 20)]
    assert names(caches[1]) == [name("b", 0), name("b", 10), name("b", 20)]
    assert "no events for b" in caplog.text


# The writer --------------------------------------------------------------------------


def writer(config: NvrConfig, camera: str) -> FfmpegCommand:
    [command] = [command for command in camera_commands(camera, config.cameras[camera],
                                                        config.media)
                 if "detect" not in command.roles]
    return command


def writer_config(path: str, input_args: str) -> str:
    return f"""
cameras:
  cam:
    ffmpeg:
      inputs:
        - path: "{path}"
          input_args: {input_args}
          roles: [clips]
        - path: "{shared_file(FOOTAGE)}"
          roles: [detect]
    width: 768
    height: 432
"""


def refreshed(cache: SegmentCache) -> list[float]:
    cache.refresh()
    return [segment.start for segment in cache.segments]


def test_stall_timeout_follows_the_segment_length(media_config: Callable[[str], NvrConfig]) -> None:
    command = writer(media_config(writer_config("rtsp://127.0.0.1/video", "-re")), "cam")
    assert default_stall_timeout(command) == 3 * 10 + 20


@pytest.mark.slow
async def test_killed_writer_is_restarted_and_segments_keep_coming(
    media_config: Callable[[str], NvrConfig], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # 5x real time: a 10 s segment every 2 s.
    config = media_config(writer_config(str(shared_file(FOOTAGE)), "-readrate 5 -stream_loop -1"))
    folder = Path(config.media.cache)
    folder.mkdir()
    cache = SegmentCache("cam", folder)
    pids: list[int] = []
    stops: list[float] = []

    def on_stop() -> None:
        stops.append(time.time())
        cache.writer_stopped()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(supervise_writer, "cam", writer(config, "cam"), on_stop,
                                   stall_timeout=20, on_pid=pids.append))
        await wait_for(lambda: len(refreshed(cache)) >= 1, 15, "a closed segment")
        os.kill(pids[0], signal.SIGKILL)
        await wait_for(lambda: len([pid for pid in pids if pid]) >= 2, 10, "a new ffmpeg")
        await wait_for(lambda: any(start > stops[0] for start in refreshed(cache)), 15,
                       "a segment from the new ffmpeg")
        nursery.cancel_scope.cancel()

    assert "cam: ffmpeg exited (exit code -9)" in caplog.text
    assert "cam: restarting ffmpeg in 1 s" in caplog.text
    assert pids[1] == 0 and pids[2] not in (0, pids[0])
    assert "bad file: " in caplog.text  # the segment the killed ffmpeg had open
    assert [segment.duration for segment in cache.segments] == pytest.approx(
        [10.0] * len(cache.segments), abs=0.2)


@pytest.mark.slow
async def test_stalled_writer_is_stopped_cleanly_and_restarted(
    media_config: Callable[[str], NvrConfig], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    source = tmp_path / "source.ts"
    subprocess.run([ffmpeg_executable(), "-loglevel", "error", "-t", "3",
                    "-i", str(shared_file(FOOTAGE)), "-c", "copy", "-f", "mpegts", str(source)],
                   check=True, timeout=30)
    data = source.read_bytes()
    connections: list[int] = []

    async def camera_that_freezes(stream: trio.SocketStream) -> None:
        connections.append(1)
        try:
            await stream.send_all(data)
            await trio.sleep_forever()
        except trio.BrokenResourceError:
            pass

    stops: list[float] = []
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, camera_that_freezes, 0,
                                                host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        config = media_config(writer_config(f"tcp://127.0.0.1:{port}", "-f mpegts"))
        folder = Path(config.media.cache)
        folder.mkdir()
        nursery.start_soon(partial(supervise_writer, "cam", writer(config, "cam"),
                                   lambda: stops.append(time.time()), stall_timeout=2))
        await wait_for(lambda: len(connections) >= 2, 15, "a restarted ffmpeg")
        nursery.cancel_scope.cancel()

    assert "cam: ffmpeg wrote no new segment for 2 s" in caplog.text
    assert "cam: restarting ffmpeg in 1 s" in caplog.text
    assert len(stops) >= 1
    # Stopped with SIGTERM and a grace period: its open segment was closed properly. (Debian's
    # ffmpeg 5.1 has written nothing of these 3 s when the stream freezes: nothing to close.)
    first = min(folder.glob("cam-*.mp4"))
    if ffmpeg_major() > 5:
        assert segment_duration(first) > 0
