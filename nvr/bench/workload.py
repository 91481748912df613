"""What the suites work on: the video's size and frames, region tensors, a busy overlay set."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nvr._fast.regions import crop_to_tensor
from nvr.capture.decode import decode_file, split_frames
from nvr.config.ffmpeg import ffmpeg_executable
from nvr.frames import Box, planes
from nvr.recording.segments import parse_duration
from nvr.render.overlays import TAB10, Overlays, TrackedBox, ZoneOutline

_SIZE = re.compile(r"Video: .*?, (\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"Video: .*?, (\d+(?:\.\d+)?) (?:fps|tbr)\b")


@dataclass(frozen=True)
class VideoInfo:
    """A video's first video stream: size, frame rate and duration in seconds (0: unknown)."""

    width: int
    height: int
    fps: float
    duration: float

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def usable_cores() -> int:
    """The cores this process may run on (affinity and container limits), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_counts() -> list[int]:
    """The thread counts measured: one, and all usable cores."""
    return sorted({1, usable_cores()})


def threads_label(threads: int) -> str:
    """``1 thread`` or ``all cores``: names stay the same across machines for --compare."""
    return "1 thread" if threads == 1 else "all cores"


def probe(video: Path) -> VideoInfo:
    """The size, frame rate and duration ffmpeg reports for ``video`` (no ffprobe needed)."""
    result = subprocess.run([ffmpeg_executable(), "-hide_banner", "-i", str(video)],
                            capture_output=True, text=True, timeout=60)
    size = _SIZE.search(result.stderr)
    if size is None:
        raise ValueError(f"ffmpeg finds no video stream in {video}")
    fps = _FPS.search(result.stderr)
    seconds = parse_duration(result.stderr.encode()) or 0.0
    return VideoInfo(int(size[1]), int(size[2]), float(fps[1]) if fps else 0.0, seconds)


def frames(video: Path, info: VideoInfo, count: int, start: float = 0.0) -> list[np.ndarray]:
    """Up to ``count`` I420 frames of ``video`` from ``start`` s, each a contiguous copy."""
    raw = decode_file(video, start=start, frames=count)
    return [frame.copy() for frame in split_frames(raw, info.width, info.height)]


def region_tensors(video_frames: list[np.ndarray], info: VideoInfo, size: tuple[int, int],
                   count: int = 9) -> list[np.ndarray]:
    """``count`` model-input tensors cropped from the frames: left, middle and right squares."""
    width, height = size
    side = min(info.height, max(width, height))
    groups = -(-count // 3)  # frames taken, evenly spread
    tensors = []
    for index in range(count):
        frame = video_frames[index // 3 * len(video_frames) // groups]
        y, u, v = planes(frame, info.width, info.height)
        x = (0, (info.width - side) // 2, info.width - side)[index % 3]
        top = (info.height - side) // 2
        out = np.empty((height, width, 3), np.uint8)
        crop_to_tensor(y, u, v, (x, top, x + side, top + side), out)
        tensors.append(out)
    return tensors


def busy_overlays(width: int, height: int) -> Overlays:
    """Every overlay at once, laid out on a 1280x720 grid and scaled to the frame."""

    def scaled(value: int) -> int:
        return round(value * width / 1280)

    def at(x1: int, y1: int, x2: int, y2: int) -> Box:
        return (scaled(x1), scaled(y1), scaled(x2), scaled(y2))

    def point(x: int, y: int) -> tuple[int, int]:
        return (scaled(x), scaled(y))

    mask = np.full((height, width), 255, np.uint8)
    mask[: height // 4, : width // 5] = 0
    objects = tuple(
        TrackedBox(label, score, area, at(*box), TAB10[index], detected)
        for index, (label, score, area, box, detected) in enumerate([
            ("person", 0.87, 41_000, (500, 200, 700, 600), True),
            ("person", 0.64, 12_500, (880, 260, 990, 560), True),
            ("dog", 0.71, 6_000, (120, 480, 300, 640), False),
        ])
    )
    return Overlays(
        objects=objects,
        regions=(at(400, 100, 800, 500), at(800, 200, 1100, 500)),
        zones=(ZoneOutline("floor", [point(100, 600), point(1200, 650), point(900, 300)],
                           TAB10[1], True),
               ZoneOutline("door", [point(20, 250), point(200, 250), point(200, 700)],
                           TAB10[3], False)),
        mask=mask,
        motion=(at(520, 220, 680, 580), at(890, 270, 980, 550), at(130, 490, 290, 630)),
        timestamp=1_700_000_000.0,
    )
