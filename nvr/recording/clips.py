"""Event clips (Frigate 0.8: docs/compatibility.md#clips): join the cache segments covering a
window.

The clip is cut with the concat demuxer's ``inpoint``/``outpoint`` in fractional seconds
(Frigate 0.8 truncates them to whole seconds). H.264 (8-bit 4:2:0) segments are stream
copied: a copy can only start on a keyframe, so the clip starts at the keyframe before the
window, up to one GOP early. Anything else (MPEG-4 Part 2, H.265, H.264 4:2:2...) is
re-encoded to H.264, so every clip plays in a browser.

The concat demuxer takes the first file's stream parameters for all of them: a segment
with another codec, size, time base or codec configuration would come out as garbage or
silently vanish. If the format changes inside the window, the clip is the run of
same-format segments covering most of it (a shorter clip, logged).

ffmpeg writes to ``<name>.partial`` beside the clip, renamed only once the output has been
checked: a failed or timed-out build leaves no file behind.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from nvr.config.ffmpeg import ffmpeg_executable
from nvr.config.schema import CameraConfig
from nvr.recording.mp4_boxes import VideoSampleEntry, video_sample_entry
from nvr.recording.segments import Segment, parse_duration

log = logging.getLogger(__name__)

CLEANUP_TIMEOUT = 5.0  # s a half-written clip may take to delete

STDERR_TAIL = 20
PARTIAL_SUFFIX = ".partial"
# profile_idc of the H.264 profiles that are 8-bit 4:2:0: baseline, main, extended, high.
BROWSER_H264_PROFILES = frozenset({66, 77, 88, 100})
COPY_ARGS = ("-c:v", "copy")
ENCODE_ARGS = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")
_VIDEO = re.compile(rb"Stream #\d+:\d+\S*: Video: (\w+)([^\n]*)")


@dataclass(frozen=True)
class ClipResult:
    """Outcome of :func:`build_clip`; ``path`` is set (and the file exists) only when ``ok``."""

    ok: bool
    path: Path | None
    duration: float = 0.0  # seconds, measured on the written file
    reencoded: bool = False
    reason: str = ""


@dataclass(frozen=True)
class VideoFormat:
    """What decides between copy and re-encode for one segment."""

    codec: str  # mp4 fourcc (avc1, hev1, mp4v...) or ffmpeg's codec name (h264, hevc...)
    browser_h264: bool  # H.264 a browser plays as is
    signature: bytes  # must be equal across segments for their streams to be copied into one


def clip_wanted(config: CameraConfig, label: str, entered_zones: Sequence[str], *,
                enabled: bool) -> bool:
    """Whether an ended event of ``label`` gets a clip while clips are ``enabled`` (the
    camera's switch) (docs/compatibility.md#clips; false positives aside)."""
    clips = config.clips
    if not enabled:
        return False
    if clips.objects is not None and label not in clips.objects:
        return False
    return not clips.required_zones or not set(clips.required_zones).isdisjoint(entered_zones)


def select_segments(segments: Sequence[Segment], start: float, end: float) -> list[Segment]:
    """The segments overlapping ``[start, end]``, in start order."""
    chosen = []
    for segment in sorted(segments, key=lambda s: s.start):
        if segment.start >= end:
            break
        if segment.end > start:
            chosen.append(segment)
    return chosen


def _quote(path: Path) -> str:
    # The file: prefix keeps a ':' in a folder name from being read as a protocol.
    return "'file:" + str(path.resolve()).replace("'", "'\\''") + "'"


def concat_list(segments: Sequence[Segment], start: float, end: float) -> str:
    """A concat-demuxer script for ``segments`` trimmed to ``[start, end]`` (seconds, ms steps)."""
    lines = []
    for segment in segments:
        lines.append(f"file {_quote(segment.path)}")
        if segment.start < start:
            lines.append(f"inpoint {start - segment.start:.3f}")
        if segment.end > end:
            lines.append(f"outpoint {end - segment.start:.3f}")
    return "\n".join(lines) + "\n"


def _format_from_entry(entry: VideoSampleEntry) -> VideoFormat:
    profile = entry.h264_profile
    return VideoFormat(
        entry.fourcc,
        profile in BROWSER_H264_PROFILES,
        b"%s %dx%d %d " % (entry.fourcc.encode(), entry.width, entry.height, entry.timescale)
        + entry.config,
    )


def _format_from_ffmpeg(stderr: bytes) -> VideoFormat | None:
    match = _VIDEO.search(stderr)
    if match is None:
        return None
    codec, details = match.group(1), match.group(2)
    browser = codec == b"h264" and re.search(rb"\byuvj?420p\b", details) is not None
    # Size and time base; not the whole line, which has the bitrate of this one file.
    signature = b" ".join([codec, *re.findall(rb"\b\d+x\d+\b|\b[\d.]+k? tbn\b", details)])
    return VideoFormat(codec.decode(), browser, signature)


async def _ffmpeg_info(path: Path) -> bytes:
    """What ``ffmpeg -i`` prints about a file (it exits 1: no output file is given)."""
    result = await trio.run_process(
        [ffmpeg_executable(), "-hide_banner", "-nostdin", "-i", str(path)],
        stdin=subprocess.DEVNULL, capture_stdout=True, capture_stderr=True, check=False,
    )
    return result.stderr


async def video_format(path: Path) -> VideoFormat | None:
    """A segment's video format: from its mp4 boxes, else ``ffmpeg -i``; None if unreadable."""
    try:
        entry = await trio.to_thread.run_sync(video_sample_entry, path)
    except (OSError, ValueError, IndexError, struct.error):  # the parser is fuzzed; belt and braces
        return None
    if entry is not None:
        return _format_from_entry(entry)
    try:
        return _format_from_ffmpeg(await _ffmpeg_info(path))
    except OSError:
        return None


async def measure_clip(path: Path) -> tuple[float | None, str | None]:
    """Duration and video codec name of a written file, read from ``ffmpeg -i``."""
    info = await _ffmpeg_info(path)
    found = _format_from_ffmpeg(info)
    return parse_duration(info), None if found is None else found.codec


def _tail(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return "\n".join(lines[-STDERR_TAIL:])


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        log.warning("cannot remove %s: %s", path, error)


async def _readable(segments: Sequence[Segment]) -> list[tuple[Segment, VideoFormat]]:
    found = []
    for segment in segments:
        video = await video_format(segment.path)
        if video is None:
            log.warning("skipping unreadable segment %s", segment.path.name)
        else:
            found.append((segment, video))
    return found


def _overlap(segment: Segment, start: float, end: float) -> float:
    return max(0.0, min(segment.end, end) - max(segment.start, start))


def same_format_run(found: Sequence[tuple[Segment, VideoFormat]], start: float,
                    end: float) -> list[tuple[Segment, VideoFormat]]:
    """The longest (in window seconds) run of consecutive segments sharing one format."""
    runs: list[list[tuple[Segment, VideoFormat]]] = []
    for item in found:
        if runs and runs[-1][-1][1].signature == item[1].signature:
            runs[-1].append(item)
        else:
            runs.append([item])
    return max(runs, key=lambda run: sum(_overlap(s, start, end) for s, _ in run), default=[])


def _ffmpeg_argv(partial: Path, reencode: bool) -> list[str]:
    return [
        ffmpeg_executable(), "-hide_banner", "-nostats", "-loglevel", "warning", "-y",
        "-protocol_whitelist", "file,pipe", "-f", "concat", "-safe", "0", "-i", "pipe:0",
        "-map", "0:v:0", "-map", "0:a:0?",
        *(ENCODE_ARGS if reencode else COPY_ARGS), "-c:a", "aac",
        "-avoid_negative_ts", "make_zero", "-movflags", "+faststart",
        "-f", "mp4", str(partial),
    ]


async def _run_ffmpeg(argv: list[str], script: str, timeout: float) -> tuple[int | None, bytes]:
    """Exit code (None on timeout) and stderr of ffmpeg reading ``script`` on stdin."""
    with trio.move_on_after(timeout):
        result = await trio.run_process(
            argv, stdin=script.encode(), capture_stdout=True, capture_stderr=True, check=False,
        )
        return result.returncode, result.stderr
    return None, b""


async def build_clip(segments: Sequence[Segment], start: float, end: float, out_path: Path, *,
                     timeout: float = 300) -> ClipResult:
    """Write the clip of ``[start, end]`` (epoch s) from closed cache segments to ``out_path``.

    The caller passes the window with pre/post capture already applied. Unreadable
    segments are skipped (a shorter clip, like a gap in the cache). Never raises for
    ffmpeg or file problems: it logs them and returns a failed result, with no file left.
    """
    if not end > start:
        return ClipResult(False, None, reason=f"empty window {start}..{end}")
    readable = await _readable(select_segments(segments, start, end))
    chosen = same_format_run(readable, start, end)
    if not chosen:
        return ClipResult(False, None, reason="no cache segments for the window")
    if len(chosen) < len(readable):
        log.warning("clip %s: video format changes inside the window, %d of %d segments kept",
                    out_path.name, len(chosen), len(readable))
    reencode = not chosen[0][1].browser_h264
    script = concat_list([segment for segment, _ in chosen], start, end)
    partial = out_path.with_name(out_path.name + PARTIAL_SUFFIX)
    try:
        code, stderr = await _run_ffmpeg(_ffmpeg_argv(partial, reencode), script, timeout)
        if code != 0:
            reason = (f"ffmpeg timed out after {timeout:g} s" if code is None
                      else f"ffmpeg exit code {code}")
            log.error("clip %s: %s\n%s", out_path.name, reason, _tail(stderr))
            return ClipResult(False, None, reencoded=reencode, reason=reason)
        duration, codec = await measure_clip(partial)
        if duration is None or not duration > 0 or codec != "h264":
            reason = f"unusable output: duration {duration}, video {codec}"
            log.error("clip %s: %s\n%s", out_path.name, reason, _tail(stderr))
            return ClipResult(False, None, reencoded=reencode, reason=reason)
        await trio.to_thread.run_sync(os.replace, partial, out_path)
    except OSError as error:
        log.error("clip %s: %s", out_path.name, error)
        return ClipResult(False, None, reencoded=reencode, reason=str(error))
    finally:
        # After a success it is already gone; on cancellation it is still removed (bounded).
        with trio.move_on_after(CLEANUP_TIMEOUT, shield=True):
            await trio.to_thread.run_sync(_remove, partial, abandon_on_cancel=True)
    how = "re-encoded" if reencode else "copied"
    log.debug("clip %s: %.1f s from %d segments, %s", out_path.name, duration, len(chosen), how)
    return ClipResult(True, out_path, duration, reencode, how)

