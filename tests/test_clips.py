"""Event clips from real cache segments, built and checked with the real ffmpeg."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import trio

from nvr.config.ffmpeg import ffmpeg_executable
from nvr.config.schema import CameraConfig
from nvr.events.store import EventStore
from nvr.recording.clips import (
    PARTIAL_SUFFIX,
    build_clip,
    clip_wanted,
    concat_list,
    select_segments,
    video_format,
)
from nvr.recording.event_clips import EventClips
from nvr.recording.mp4_boxes import top_level_boxes, video_sample_entry
from nvr.recording.segments import Segment, SegmentCache, parse_duration
from nvr.switches import CameraSwitches
from support import CYCLIST, FOOTAGE, shared_file

BASE = 1_700_000_000.0
SEGMENT_ARGS = ["-f", "segment", "-segment_time", "10", "-segment_format", "mp4",
                "-reset_timestamps", "1", "-an"]
COPY = ["-c", "copy"]
# A camera-like H.264 with a 5 s GOP and B-frames: a copy must start on the keyframe before.
LONG_GOP = ["-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50",
            "-sc_threshold", "0"]


def ffmpeg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ffmpeg_executable(), "-hide_banner", "-nostdin", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def info(path: Path) -> str:
    return ffmpeg("-i", path).stderr


def make_segments(folder: Path, camera: str, source: Path, input_args: list[str],
                  codec_args: list[str]) -> list[Segment]:
    """Cut ``source`` like the clips role does; start times are assigned back to back."""
    folder.mkdir(parents=True, exist_ok=True)
    done = ffmpeg("-v", "error", *input_args, "-i", source, *codec_args, *SEGMENT_ARGS,
                  folder / f"{camera}-%03d.mp4")
    assert done.returncode == 0, done.stderr
    segments, start = [], BASE
    for path in sorted(folder.glob(f"{camera}-*.mp4")):
        duration = parse_duration(info(path).encode())
        assert duration
        segments.append(Segment(path, camera, start, duration))
        start += duration
    return segments


@pytest.fixture(scope="module")
def h264_segments(tmp_path_factory: pytest.TempPathFactory) -> list[Segment]:
    folder = tmp_path_factory.mktemp("h264")
    return make_segments(folder, "front", shared_file(FOOTAGE), ["-ss", "70", "-t", "35"], COPY)


@pytest.fixture(scope="module")
def long_gop_segments(tmp_path_factory: pytest.TempPathFactory) -> list[Segment]:
    folder = tmp_path_factory.mktemp("gop")
    return make_segments(folder, "gop", shared_file(FOOTAGE), ["-ss", "70", "-t", "35"],
                         LONG_GOP)


@pytest.fixture(scope="module")
def xvid_segments(tmp_path_factory: pytest.TempPathFactory) -> list[Segment]:
    folder = tmp_path_factory.mktemp("xvid")
    return make_segments(folder, "road", shared_file(CYCLIST), [], COPY)


def assert_playable_h264(path: Path) -> float:
    """Checks every clip must pass; returns its duration."""
    text = info(path)
    assert re.search(r"Video: h264 \((Constrained Baseline|Baseline|Main|High)\)", text), text
    assert "yuv420p" in text
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # +faststart
    first = ffmpeg("-i", path, "-vf", "showinfo", "-frames:v", "1", "-f", "null", "-").stderr
    frame = [line for line in first.splitlines() if "n:   0" in line]
    assert frame and "iskey:1" in frame[0] and "type:I" in frame[0], first
    decoded = ffmpeg("-v", "error", "-i", path, "-f", "null", "-")
    assert decoded.returncode == 0 and decoded.stderr.strip() == "", decoded.stderr
    duration = parse_duration(text.encode())
    assert duration is not None
    return duration


def assert_no_leftovers(folder: Path) -> None:
    assert not list(folder.glob(f"*{PARTIAL_SUFFIX}"))


async def test_h264_segments_are_stream_copied(h264_segments: list[Segment],
                                               tmp_path: Path) -> None:
    assert len(h264_segments) == 4
    start, end = BASE + 3.45, BASE + 26.3
    out = tmp_path / "front-1.mp4"
    result = await build_clip(h264_segments, start, end, out)
    assert result.ok and result.path == out and not result.reencoded, result
    duration = assert_playable_h264(out)
    assert result.duration == pytest.approx(duration)
    # One keyframe a second in this footage: starts at most 1 s early, never late.
    assert end - start - 0.15 <= duration <= end - start + 1.1
    assert_no_leftovers(tmp_path)


async def test_copy_starts_on_the_keyframe_before_the_window(long_gop_segments: list[Segment],
                                                             tmp_path: Path) -> None:
    start, end = BASE + 13.45, BASE + 27.3  # keyframes every 5 s: the clip starts at 10 s
    out = tmp_path / "gop-1.mp4"
    result = await build_clip(long_gop_segments, start, end, out)
    assert result.ok and not result.reencoded, result
    duration = assert_playable_h264(out)
    assert end - start - 0.15 <= duration <= end - start + 5.1
    assert abs(duration - (end - (BASE + 10))) < 0.5


async def test_xvid_segments_are_reencoded_without_blocking_the_loop(
        xvid_segments: list[Segment], tmp_path: Path) -> None:
    entry = video_sample_entry(xvid_segments[0].path)
    assert entry is not None and entry.fourcc == "mp4v"
    start, end = BASE + 4.2, BASE + 21.7
    out = tmp_path / "road-1.mp4"
    longest_gap = 0.0

    async def tick(cancel: trio.CancelScope) -> None:
        nonlocal longest_gap
        with cancel:
            last = trio.current_time()
            while True:
                await trio.sleep(0.005)
                now = trio.current_time()
                longest_gap, last = max(longest_gap, now - last), now

    async with trio.open_nursery() as nursery:
        ticker = trio.CancelScope()
        nursery.start_soon(tick, ticker)
        result = await build_clip(xvid_segments, start, end, out)
        ticker.cancel()
    assert result.ok and result.reencoded, result
    duration = assert_playable_h264(out)
    sample = video_sample_entry(out)
    assert sample is not None and sample.fourcc == "avc1"
    assert abs(duration - (end - start)) < 0.3  # re-encoding cuts where asked
    assert longest_gap < 0.1


async def test_window_without_segments_fails_and_writes_nothing(h264_segments: list[Segment],
                                                                tmp_path: Path) -> None:
    out = tmp_path / "front-2.mp4"
    for start, end in [(BASE - 100, BASE - 10), (BASE + 40, BASE + 60), (BASE + 5, BASE + 5)]:
        result = await build_clip(h264_segments, start, end, out)
        assert not result.ok and result.path is None and result.reason, result
    assert not (await build_clip([], BASE, BASE + 10, out)).ok
    assert list(tmp_path.iterdir()) == []


async def test_broken_segments_give_a_shorter_clip_or_nothing(h264_segments: list[Segment],
                                                              tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    copies = []
    for segment in h264_segments:
        path = cache / segment.path.name
        shutil.copy(segment.path, path)
        copies.append(Segment(path, segment.camera, segment.start, segment.duration))
    data = copies[1].path.read_bytes()
    copies[1].path.write_bytes(data[: len(data) // 2])  # ffmpeg killed mid-segment: no moov
    copies[2].path.write_bytes(b"\x00garbage" * 1000)
    out = tmp_path / "front-3.mp4"
    result = await build_clip(copies, BASE + 2, BASE + 33, out)
    if result.ok:
        duration = assert_playable_h264(out)
        assert duration < 31 - 15  # two of the four segments are gone
    else:
        assert not out.exists()
    assert_no_leftovers(tmp_path)


async def test_format_change_keeps_the_longer_run(h264_segments: list[Segment],
                                                  xvid_segments: list[Segment],
                                                  tmp_path: Path) -> None:
    first = h264_segments[0]
    xvid = xvid_segments[0]
    mixed = [first, Segment(xvid.path, "front", first.end, xvid.duration)]
    out = tmp_path / "front-4.mp4"
    result = await build_clip(mixed, BASE + 2, BASE + 35, out)
    assert result.ok and result.reencoded, result
    duration = assert_playable_h264(out)
    assert abs(duration - 25) < 0.3  # the XVID part only: 10..35


async def test_timeout_leaves_no_file(xvid_segments: list[Segment], tmp_path: Path) -> None:
    out = tmp_path / "road-2.mp4"
    result = await build_clip(xvid_segments, BASE, BASE + 30, out, timeout=0.05)
    assert not result.ok and "timed out" in result.reason
    assert list(tmp_path.iterdir()) == []


async def test_existing_clip_is_replaced(h264_segments: list[Segment], tmp_path: Path) -> None:
    out = tmp_path / "front-5.mp4"
    out.write_bytes(b"old")
    result = await build_clip(h264_segments, BASE + 1, BASE + 4, out)
    assert result.ok
    assert_playable_h264(out)


async def test_video_format_falls_back_to_ffmpeg_for_other_containers() -> None:
    found = await video_format(shared_file(CYCLIST))
    assert found is not None and found.codec == "mpeg4" and not found.browser_h264
    source = await video_format(shared_file(FOOTAGE))
    assert source is not None and source.codec == "avc1" and source.browser_h264


def test_box_parser_survives_damaged_files(h264_segments: list[Segment], tmp_path: Path) -> None:
    data = h264_segments[0].path.read_bytes()
    moov = data.rfind(b"moov") - 4
    rng = random.Random(8)
    damaged = tmp_path / "damaged.mp4"
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(moov, len(mutated))] = rng.randrange(256)
        damaged.write_bytes(bytes(mutated[: rng.randrange(moov, len(mutated) + 1)]))
        video_sample_entry(damaged)  # a result or None, never an exception
        top_level_boxes(damaged)


def test_select_segments_and_concat_list(tmp_path: Path) -> None:
    segments = [Segment(tmp_path / f"c-{i}.mp4", "c", BASE + 10 * i, 10) for i in (3, 0, 2, 1)]
    chosen = select_segments(segments, BASE + 12.5, BASE + 30)
    assert [s.start - BASE for s in chosen] == [10, 20]
    script = concat_list(chosen, BASE + 12.5, BASE + 25.25)
    assert script.splitlines() == [
        f"file 'file:{tmp_path}/c-1.mp4'", "inpoint 2.500",
        f"file 'file:{tmp_path}/c-2.mp4'", "outpoint 5.250",
    ]
    odd = Segment(tmp_path / "it's.mp4", "c", BASE, 10)
    assert concat_list([odd], BASE, BASE + 10) == f"file 'file:{tmp_path}/it'\\''s.mp4'\n"


def test_parse_duration() -> None:
    assert parse_duration(b"  Duration: 00:01:02.50, start: 0.0") == 62.5
    assert parse_duration(b"  Duration: 01:00:00.00, start") == 3600
    assert parse_duration(b"  Duration: N/A, start: 0") is None


def camera(**clips: object) -> CameraConfig:
    return CameraConfig.model_validate({
        "ffmpeg": {"inputs": [{"path": "rtsp://127.0.0.1/1", "roles": ["detect", "clips"]}]},
        "width": 640, "height": 480, "clips": clips,
    })


@pytest.mark.parametrize(("clips", "label", "zones", "wanted"), [
    ({}, "person", [], False),
    ({"enabled": True}, "person", [], True),
    ({"enabled": True}, "car", ["yard"], True),
    ({"enabled": True, "objects": ["person"]}, "person", [], True),
    ({"enabled": True, "objects": ["person"]}, "car", [], False),
    ({"enabled": True, "objects": []}, "person", [], False),
    ({"enabled": True, "required_zones": ["yard"]}, "person", [], False),
    ({"enabled": True, "required_zones": ["yard"]}, "person", ["street"], False),
    ({"enabled": True, "required_zones": ["yard", "door"]}, "person", ["street", "door"], True),
    ({"enabled": False, "required_zones": ["yard"]}, "person", ["yard"], False),
])
def test_clip_wanted(clips: dict[str, object], label: str, zones: list[str],
                     wanted: bool) -> None:
    config = camera(**clips)
    assert clip_wanted(config, label, zones, enabled=config.clips.enabled) is wanted
    # The camera's switch (an MQTT command) decides over the config's value.
    assert clip_wanted(config, label, zones, enabled=False) is False


async def test_the_clips_switch_decides_whether_ended_events_get_clips(tmp_path: Path) -> None:
    config = camera(enabled=True)
    switches = CameraSwitches.of(config)
    async with EventStore.open(str(tmp_path / "events.db")) as store:
        clips = EventClips("back", config, tmp_path, SegmentCache("back", str(tmp_path)), store,
                           300.0, switches)
        assert clips.request("1.0-aaaaaa", "person", [], BASE, BASE + 10)
        switches.set("clips", False)  # an MQTT command: no clips from now on
        assert not clips.request("2.0-bbbbbb", "person", [], BASE, BASE + 10)
        assert list(clips.pending) == ["1.0-aaaaaa"]
