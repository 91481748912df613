"""ffmpeg command lines for a camera's inputs (Frigate 0.8:
docs/compatibility.md#ffmpeg-commands)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

from nvr.config.schema import CameraConfig, CameraInputConfig, MediaConfig

GENERIC_INPUT_ARGS = [
    "-avoid_negative_ts", "make_zero",
    "-fflags", "+genpts+discardcorrupt",
    "-use_wallclock_as_timestamps", "1",
]
# `-stimeout` of Frigate 0.8 is `-timeout` since ffmpeg 5; both are refused on non-RTSP inputs.
RTSP_INPUT_ARGS = ["-rtsp_transport", "tcp", "-timeout", "5000000"]
SEGMENT_NAME = "%Y%m%d%H%M%S.mp4"


def default_input_args(path: str) -> list[str]:
    """Input arguments for an input whose config does not set any."""
    if path.lower().startswith(("rtsp://", "rtsps://")):
        return [*GENERIC_INPUT_ARGS, *RTSP_INPUT_ARGS]
    return list(GENERIC_INPUT_ARGS)


_configured_ffmpeg: str | None = None


def use_ffmpeg(path: str | None) -> None:
    """Run ``path`` (``ffmpeg.path`` of the config) for every ffmpeg of this process from now
    on; None: the default of ``ffmpeg_executable``."""
    global _configured_ffmpeg
    _configured_ffmpeg = path


def ffmpeg_executable() -> str:
    """The ffmpeg binary: the one ``use_ffmpeg`` chose, else ``default_ffmpeg()``."""
    return _configured_ffmpeg or default_ffmpeg().path


@dataclass(frozen=True)
class FfmpegBinary:
    """An ffmpeg nvr can run, and where it comes from (``wheel``: imageio-ffmpeg's)."""

    label: str
    path: str


@cache
def ffmpeg_candidates() -> tuple[FfmpegBinary, ...]:
    """The ffmpeg binaries found, the default first: imageio-ffmpeg's (its wheel's binary, or
    what ``$IMAGEIO_FFMPEG_EXE`` names instead), then the one on PATH if it is another."""
    import imageio_ffmpeg

    found = []
    with suppress(RuntimeError):  # no binary for this platform, none on PATH either
        path = imageio_ffmpeg.get_ffmpeg_exe()
        if Path(imageio_ffmpeg.__file__).parent in Path(path).parents:
            found.append(FfmpegBinary("wheel", path))
        else:
            found.append(FfmpegBinary("$IMAGEIO_FFMPEG_EXE" if os.environ.get(
                "IMAGEIO_FFMPEG_EXE") else "PATH", path))
    on_path = shutil.which("ffmpeg")
    if on_path and all(Path(on_path).resolve() != Path(binary.path).resolve()
                       for binary in found):
        found.append(FfmpegBinary("PATH", on_path))
    return tuple(found)


@cache
def default_ffmpeg() -> FfmpegBinary:
    """The ffmpeg run when the config names none: the imageio-ffmpeg wheel's (a dependency;
    ``$IMAGEIO_FFMPEG_EXE`` overrides it), which decodes a camera for less CPU and memory
    than Debian 12's 5.1 (``benchmarks/bench_serving.py``), else ``ffmpeg`` on PATH."""
    candidates = ffmpeg_candidates()
    if not candidates:
        raise FileNotFoundError("no ffmpeg: neither the imageio-ffmpeg wheel's nor one on PATH")
    return candidates[0]


SINGLE_THREAD_PIXELS = 2560 * 1440
"""Detect streams up to this size are decoded on one thread: one thread of a 2-core Xeon VM
decodes 1080p H.264 at ~400 fps and 4K at ~190 fps (README, "ffmpeg"), so a 1440p camera at
30 fps keeps up with room to spare even on a board several times slower; more threads only
add frame buffers (5-7 MB per camera) and hand-offs."""


def decode_threads(camera: CameraConfig, camera_input: CameraInputConfig) -> int | None:
    """``-threads`` for the decoder of ``camera_input`` of ``camera``: 1 for a detect input up
    to ``SINGLE_THREAD_PIXELS``, None (ffmpeg's choice) for larger ones, inputs without the
    detect role, hardware decoding, or input arguments that set ``-threads``."""
    if ("detect" not in camera_input.roles or camera_input.hwaccel_args
            or "-threads" in (camera_input.input_args or [])):
        return None
    return 1 if camera.width * camera.height <= SINGLE_THREAD_PIXELS else None


def decode_note(camera: CameraConfig) -> str:
    """How the detect input of ``camera`` is decoded, and why, for the start-up log."""
    size = f"{camera.width}x{camera.height}"
    for camera_input in camera.ffmpeg.inputs:
        if "detect" not in camera_input.roles:
            continue
        if decode_threads(camera, camera_input) == 1:
            return f"detect input decoded on 1 thread ({size} is at most 2560x1440)"
        if camera_input.hwaccel_args:
            return "detect input decoded by the hwaccel_args' decoder"
        if "-threads" in (camera_input.input_args or []):
            return "detect input decoded with the input_args' -threads"
        return f"detect input decoded on ffmpeg's thread count ({size} is over 2560x1440)"
    return "no detect input"


def with_threads(argv: Sequence[str], threads: int) -> list[str]:
    """``argv`` with ``-threads N`` as an input option (the decoder's threads) before its
    first ``-i``, unless its input options set ``-threads`` already."""
    argv = list(argv)
    first_input = argv.index("-i")
    if "-threads" in argv[:first_input]:
        return argv
    return [*argv[:first_input], "-threads", str(threads), *argv[first_input:]]


def ffmpeg_version(executable: str) -> str:
    """The version ``executable -version`` reports (``5.1.6-0+deb12u1``), or why not."""
    try:
        result = subprocess.run([executable, "-version"], capture_output=True, text=True,
                                timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    words = result.stdout.split(maxsplit=3)
    return words[2] if len(words) > 2 and words[:2] == ["ffmpeg", "version"] else "unknown"


@dataclass(frozen=True)
class FfmpegCommand:
    """One ffmpeg process of a camera: the roles it serves, its argument vector, and the facts
    about its outputs that its supervisors need."""

    roles: tuple[str, ...]
    argv: tuple[str, ...]
    y4m: bool = False
    """The detect output is YUV4MPEG, whose header states the frame size."""
    segment_outputs: tuple[Path, ...] = ()
    """The segment file patterns it writes (``<folder>/<camera>-%Y%m%d%H%M%S.mp4``)."""
    segment_time: float | None = None
    """The longest ``-segment_time`` of those outputs (None: ffmpeg's default)."""
    detect_argv: tuple[str, ...] = ()
    """The same input with the detect pipe alone, for while the segments cannot be written
    (empty: no detect output)."""

    @property
    def line(self) -> str:
        return " ".join(self.argv)


def _segment_time(args: list[str]) -> float | None:
    for option, value in pairwise(args):
        if option == "-segment_time":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _command(name: str, camera: CameraConfig, camera_input: CameraInputConfig,
             media: MediaConfig) -> FfmpegCommand | None:
    """The ffmpeg of one input, or None if it has no active output."""
    outputs = camera.ffmpeg.output_args
    args: list[str] = []
    segments: list[tuple[list[str], Path]] = []
    if "record" in camera_input.roles and camera.record.enabled:
        segments.append((outputs.record, Path(media.recordings) / f"{name}-{SEGMENT_NAME}"))
    if "clips" in camera_input.roles:
        # The cache is fed even with clips disabled, as in Frigate 0.8: it may be
        # enabled at run time and needs its pre-capture seconds.
        segments.append((outputs.clips, Path(media.cache) / f"{name}-{SEGMENT_NAME}"))
    for output_args, pattern in segments:
        args += [*output_args, str(pattern)]
    detect: list[str] = []
    if "detect" in camera_input.roles:
        if camera.fps is not None:
            detect += ["-r", str(camera.fps)]
        detect += [*outputs.detect, "pipe:"]
    if not args and not detect:
        return None
    head = [
        ffmpeg_executable(),
        *(camera_input.global_args or []),
        *(camera_input.hwaccel_args or []),
        *(camera_input.input_args or []),
        "-i", camera_input.path,
    ]
    threads = decode_threads(camera, camera_input)
    if threads is not None:
        head = with_threads(head, threads)
    argv = [*head, *args, *detect]
    times = [time for output_args, _ in segments
             if (time := _segment_time(output_args)) is not None]
    return FfmpegCommand(
        tuple(camera_input.roles), tuple(argv),
        y4m="detect" in camera_input.roles and "yuv4mpegpipe" in outputs.detect,
        segment_outputs=tuple(pattern for _, pattern in segments),
        segment_time=max(times, default=None),
        detect_argv=tuple([*head, *detect]) if detect else (),
    )


def camera_commands(name: str, camera: CameraConfig, media: MediaConfig) -> list[FfmpegCommand]:
    """The ffmpeg processes of a resolved camera, one per input with an active output."""
    commands = (_command(name, camera, camera_input, media)
                for camera_input in camera.ffmpeg.inputs)
    return [command for command in commands if command is not None]
