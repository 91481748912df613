"""Decode part of a video file to raw frames with the real ffmpeg, in one go.

For the benchmarks and tests, which run the pipeline's stages on real footage.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from nvr.config.ffmpeg import ffmpeg_executable


def decode_file(path: str | Path, *, start: float = 0.0, duration: float | None = None,
                frames: int | None = None, filters: str | None = None,
                pix_fmt: str = "yuv420p") -> np.ndarray:
    """The frames from ``start`` s (``duration`` s or ``frames`` frames), all concatenated
    into one read-only uint8 array; ``filters`` is an ffmpeg ``-vf`` chain (e.g. scale)."""
    command = [ffmpeg_executable(), "-v", "error", "-ss", str(start), "-i", str(path)]
    if duration is not None:
        command += ["-t", str(duration)]
    if frames is not None:
        command += ["-frames:v", str(frames)]
    if filters:
        command += ["-vf", filters]
    command += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:"]
    raw = subprocess.run(command, capture_output=True, check=True, timeout=300).stdout
    return np.frombuffer(raw, np.uint8)


def split_frames(raw: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    """Flat I420 frames (views) of a concatenated ``decode_file`` result."""
    size = width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
    return [raw[offset:offset + size] for offset in range(0, len(raw) - size + 1, size)]
