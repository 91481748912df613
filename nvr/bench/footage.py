"""Simulated cameras for the end-to-end suites: a video file looped in real time, and the
config of an in-process service reading it."""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from nvr._fast.motion import MotionDetector
from nvr.bench.references import WARM_UP_FRAMES
from nvr.bench.workload import VideoInfo
from nvr.capture.decode import decode_file, split_frames
from nvr.config import NvrConfig, load_config
from nvr.frames import planes

FPS = 5
"""The frame rate every simulated camera is processed at (``fps:`` of the camera)."""


def detector_threads() -> int:
    """Threads given to the CPU detector: the host's cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def camera_names(count: int) -> list[str]:
    """Names of ``count`` simulated cameras."""
    return [f"cam{index + 1}" for index in range(count)]


SCANNED_SECONDS = 120  # motion_times looks at the first two minutes at most
MOTION_WARM_UP = WARM_UP_FRAMES / FPS + 1
"""Seconds after a camera's first frame before motion is found: the detector learns the
background from its first frames. Measuring windows start after it."""


@cache
def motion_times(video: Path, info: VideoInfo) -> tuple[float, ...]:
    """Seconds into ``video`` of the frames (at ``FPS``) in which there is motion, with the
    default motion settings; computed once per video."""
    # Decoded at the size motion detection works at anyway (a sixth of the height, as the
    # default motion.frame_height): a long 4K file must not need gigabytes here.
    height = max(2, info.height // 6 // 2 * 2)
    width = max(2, round(info.width * height / info.height / 2) * 2)
    raw = decode_file(video, duration=min(info.duration or SCANNED_SECONDS, SCANNED_SECONDS),
                      filters=f"fps={FPS},scale={width}:{height}")
    detector = MotionDetector(width, height, frame_height=height)
    return tuple(index / FPS for index, frame in enumerate(split_frames(raw, width, height))
                 if detector.detect(planes(frame, width, height).y))


def start_offsets(video: Path, info: VideoInfo, cameras: int) -> list[float]:
    """Where in the file each camera starts: its motion warm-up before frames with motion,
    spread over them, so that the short measuring windows see motion as the footage has it
    (the empty stretches of a file would make a host look more capable than it is)."""
    moving = motion_times(video, info)
    if not moving:
        return [round(info.duration * index / cameras, 1) for index in range(cameras)]
    return [max(0.0, round(moving[len(moving) * (2 * index + 1) // (2 * cameras)]
                           - MOTION_WARM_UP, 1))
            for index in range(cameras)]


LOOPED_HOURS = 24
"""How long a simulated camera's playlist plays before ffmpeg ends it (and nvr restarts it)."""


def looped_playlist(folder: Path, name: str, video: Path, info: VideoInfo,
                    offset: float) -> Path:
    """An ffconcat playlist in ``folder`` that plays ``video`` from ``offset`` seconds and then
    whole, again and again, for ``LOOPED_HOURS``: a camera starting mid-file.

    Not ``-ss offset -stream_loop -1``: ffmpeg 7 and later restart the timestamps at each loop
    after an input seek, and the output frame rate filter then drops every frame until they
    catch up, a stall as long as the seek at each loop. Each playlist entry is opened afresh
    and the concat demuxer keeps the timestamps rising."""
    quoted = "'" + str(video.resolve()).replace("'", "'\\''") + "'"
    repeats = max(1, math.ceil(LOOPED_HOURS * 3600 / max(info.duration, 1.0)))
    lines = ["ffconcat version 1.0", f"file {quoted}", f"inpoint {offset}"]
    lines += [f"file {quoted}"] * repeats
    path = folder / f"{name}.ffconcat"
    path.write_text("\n".join(lines) + "\n")
    return path


def service_config(folder: Path, video: Path, info: VideoInfo, model: Path, labels: Path,
                   cameras: int, *, detect: bool = True, offsets: Sequence[float] | None = None,
                   threads: int | None = None) -> NvrConfig:
    """A config of ``cameras`` cameras of ``info``'s size, each reading ``video`` looped in
    real time at ``FPS`` fps and detecting with the CPU detector on ``model`` (without
    ``detect``: capture only); media, database and config file in ``folder``, web on an
    ephemeral loopback port. ``offsets``: where each camera starts in the file (default:
    ``start_offsets``); ``threads``: the detector's (default: ``detector_threads()``)."""
    if offsets is None:
        offsets = start_offsets(video, info, cameras)
    playlists = {name: looped_playlist(folder, name, video, info, offset)
                 for name, offset in zip(camera_names(cameras), offsets, strict=True)}
    blocks = "".join(f"""
          {name}:
            ffmpeg:
              inputs:
                - path: "{playlist}"
                  input_args: -re -f concat -safe 0
                  roles: [detect]
            width: {info.width}
            height: {info.height}
            fps: {FPS}
            detect: {{enabled: {str(detect).lower()}}}""" for name, playlist in playlists.items())
    text = textwrap.dedent(f"""
        web: {{host: 127.0.0.1, port: 0}}
        media: {{clips: "{folder}/clips", recordings: "{folder}/rec", cache: "{folder}/cache",
                 min_free_mb: 0, min_free_percent: 0}}
        model: {{path: "{model.resolve()}", labelmap_path: "{labels.resolve()}"}}
        detectors: {{cpu: {{type: cpu, num_threads: {threads or detector_threads()}}}}}
        cameras:""") + textwrap.indent(textwrap.dedent(blocks), "  ") + "\n"
    path = folder / "config.yml"
    path.write_text(text)
    return load_config(path, {})
