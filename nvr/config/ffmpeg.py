"""ffmpeg command lines for a camera's inputs (Frigate 0.8:
docs/compatibility.md#ffmpeg-commands)."""

from __future__ import annotations

import shutil
import subprocess
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
    """The ffmpeg binary: the one ``use_ffmpeg`` chose, else ``ffmpeg`` from PATH, else the
    binary shipped in the imageio-ffmpeg wheel."""
    return _configured_ffmpeg or _default_ffmpeg()


@cache
def _default_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


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
