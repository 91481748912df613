"""Event clips: assembly time per minute of clip, stream copy and re-encode.

Cache segments are cut from real footage the way the clips role cuts them (``-f segment
-segment_time 10 -segment_format mp4 -c copy``), then a clip is built over one minute of
them with :func:`nvr.recording.clips.build_clip`. Physical baselines, timed in turns with
it: for the stream copy, reading the same bytes (the least any copy can cost); for
the re-encode, ffmpeg only decoding the same input to null (what the encoder adds on top).
A second copy row puts Frigate 0.8's own ffmpeg command (concat list on
stdin, whole-second in/out points, stream copy, +faststart, no probing or checks) against
ours, to show what codec detection and the output check cost.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import trio

from benchmarks.common import Row, print_table, shared_file, timed
from nvr.bench.model import Stat
from nvr.config.ffmpeg import ffmpeg_executable
from nvr.recording.clips import build_clip, measure_clip, parse_duration
from nvr.recording.segments import Segment

FOOTAGE = "media/intel_one_by_one_person_detection_768x432.mp4"
CYCLIST = "media/bgslibrary_highway_cctv_cyclist_320x240.avi"
BASE = 1_700_000_000.0
SEGMENT_ARGS = ["-f", "segment", "-segment_time", "10", "-segment_format", "mp4",
                "-reset_timestamps", "1", "-an", "-c", "copy"]


def ffmpeg(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([ffmpeg_executable(), "-hide_banner", "-nostdin", *map(str, args)],
                          capture_output=True, timeout=120, check=False)


def make_segments(folder: Path, camera: str, input_args: list[str]) -> list[Segment]:
    """Cut the input into cache segments; start times are assigned back to back."""
    done = ffmpeg("-v", "error", *input_args, *SEGMENT_ARGS, folder / f"{camera}-%03d.mp4")
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode(errors="replace"))
    segments, start = [], BASE
    for path in sorted(folder.glob(f"{camera}-*.mp4")):
        duration = parse_duration(ffmpeg("-i", path).stderr) or 0.0
        segments.append(Segment(path, camera, start, duration))
        start += duration
    return segments


def ours(segments: list[Segment], out: Path) -> float:
    """Build the clip of all of ``segments``; its duration in seconds."""
    result = trio.run(build_clip, segments, segments[0].start, segments[-1].end, out)
    if not result.ok:
        raise SystemExit(f"clip failed: {result.reason}")
    return result.duration


def read_bytes(segments: list[Segment]) -> None:
    for segment in segments:
        segment.path.read_bytes()


def frigate_command(segments: list[Segment], out: Path) -> None:
    """Frigate 0.8's clip command, docs/compatibility.md#clips (its in/out points are whole
    seconds; none here).

    ``-i pipe:0`` and ``file:`` paths stand for its ``-i -`` and bare paths: since ffmpeg 7
    ``-`` is opened with the ``fd`` protocol, which its ``pipe,file`` whitelist refuses, and
    bare paths in a list read from ``pipe:0`` resolve to ``pipe:/...``.
    """
    script = "".join(f"file 'file:{segment.path}'\n" for segment in segments)
    subprocess.run([ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y",
                    "-protocol_whitelist", "pipe,file", "-f", "concat", "-safe", "0",
                    "-i", "pipe:0", "-c", "copy", "-movflags", "+faststart", str(out)],
                   input=script.encode(), capture_output=True, check=True, timeout=120)


def decode_to_null(segments: list[Segment]) -> None:
    for segment in segments:
        ffmpeg("-v", "error", "-i", segment.path, "-f", "null", "-")


def per_minute(timing: Stat, seconds: float) -> Stat:
    """Seconds per call turned into seconds per minute of clip."""
    scale = 60.0 / seconds
    return replace(timing, median=timing.median * scale, low=timing.low * scale,
                   high=timing.high * scale)


def main() -> None:
    footage, cyclist = shared_file(FOOTAGE), shared_file(CYCLIST)
    with tempfile.TemporaryDirectory(prefix="bench-clips-") as name:
        folder = Path(name)
        h264 = make_segments(folder, "front", ["-ss", "20", "-t", "60", "-i", footage])
        xvid = make_segments(folder, "road", ["-stream_loop", "1", "-i", cyclist])
        h264_seconds = ours(h264, folder / "front-clip.mp4")
        xvid_seconds = ours(xvid, folder / "road-clip.mp4")
        size = sum(segment.path.stat().st_size for segment in h264) / 1e6
        print(f"stream copy: {len(h264)} H.264 768x432 segments, {size:.2f} MB, "
              f"clip {h264_seconds:.1f} s; re-encode: {len(xvid)} XVID 320x240 segment(s), "
              f"clip {xvid_seconds:.1f} s")

        copy, read, concat, check = timed(
            lambda: ours(h264, folder / "front-clip.mp4"), lambda: read_bytes(h264),
            lambda: frigate_command(h264, folder / "frigate.mp4"),
            lambda: trio.run(measure_clip, folder / "front-clip.mp4"), rounds=9)
        encode, decode = timed(lambda: ours(xvid, folder / "road-clip.mp4"),
                               lambda: decode_to_null(xvid), rounds=5, budget=0)
        rows = [
            Row("H.264 stream copy", per_minute(copy, h264_seconds),
                per_minute(read, h264_seconds), "read the segment bytes"),
            Row("H.264 stream copy", per_minute(copy, h264_seconds),
                per_minute(concat, h264_seconds), "Frigate 0.8's ffmpeg command"),
            Row("XVID re-encoded to H.264", per_minute(encode, xvid_seconds),
                per_minute(decode, xvid_seconds), "ffmpeg decode to null"),
        ]
    print_table("Clip assembly, ms per minute of clip (ours: build_clip, whole window)", rows)
    print(f"Of ours, the check of the written clip (ffmpeg -i: duration, codec) takes "
          f"{check.median * 1e3:.1f} ms a clip, whatever its length.")


if __name__ == "__main__":
    main()
