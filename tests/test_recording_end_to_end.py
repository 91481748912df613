"""``nvr run`` with the clips role on real footage: event clips from the segment cache.

The one-by-one footage has one person in view from 74.5 s to 86.5 s (see
test_events_end_to_end.py); read in real time from 70 s, the event ends about 5 s after they
leave. The cyclist AVI is XVID, so its clips must be re-encoded to H.264.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from nvr.config.ffmpeg import ffmpeg_executable
from nvr.recording.mp4_boxes import top_level_boxes
from nvr.recording.segments import parse_duration
from support import (
    CYCLIST,
    FOOTAGE,
    camera,
    poll,
    service_config,
    shared_file,
    start,
    stop,
    stored_events,
)

SEGMENT_SECONDS = 10
CLIPS = "    clips: {enabled: true, pre_capture: 2, post_capture: 2}\n"


def probe(path: Path) -> tuple[float, str]:
    """Duration and ffmpeg's description of the video stream of ``path``."""
    result = subprocess.run([ffmpeg_executable(), "-hide_banner", "-i", str(path)],
                            capture_output=True, timeout=60)
    video = next(line for line in result.stderr.decode().splitlines() if "Video:" in line)
    duration = parse_duration(result.stderr)
    assert duration is not None
    return duration, video


def decodes(path: Path) -> bool:
    result = subprocess.run([ffmpeg_executable(), "-v", "error", "-i", str(path), "-f", "null",
                             "-"], capture_output=True, timeout=120)
    return result.returncode == 0 and not result.stderr.strip()


def with_clips(clips: Path, camera_name: str) -> list[dict]:
    return [event for event in stored_events(clips, camera_name) if event["has_clip"]]


@pytest.mark.slow
def test_events_get_playable_clips(write_config: Callable[..., Path]) -> None:
    cameras = (
        camera("person", shared_file(FOOTAGE), "-re -ss 70 -t 30", 768, 432, CLIPS,
               roles="detect, clips")
        + camera("road", shared_file(CYCLIST), "-re", 320, 240,
                 CLIPS + "    objects: {track: [car], filters: {car: {threshold: 0.6}}}\n",
                 roles="detect, clips")
    )
    config, url = service_config(write_config, cameras)
    clips = config.parent / "media" / "clips"
    process = start(config)
    poll(process, lambda: bool(with_clips(clips, "person")) and bool(with_clips(clips, "road")),
         150, "clips of a person event and a car event")
    [event] = with_clips(clips, "person")[:1]
    served = httpx.get(f"{url}/clips/person-{event['id']}.mp4", timeout=10)
    stop(process)

    path = clips / f"person-{event['id']}.mp4"
    assert served.status_code == 200 and served.content == path.read_bytes()
    duration, video = probe(path)
    window = (event["end_time"] + 2) - (event["start_time"] - 2)
    assert abs(duration - window) <= SEGMENT_SECONDS, (duration, window)
    assert "h264" in video
    assert decodes(path)
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: plays while loading

    road = with_clips(clips, "road")[0]
    road_clip = clips / f"road-{road['id']}.mp4"
    assert "h264" in probe(road_clip)[1]  # re-encoded from XVID
    assert decodes(road_clip)


@pytest.mark.slow
def test_a_killed_segment_writer_still_gives_a_clip(write_config: Callable[..., Path]) -> None:
    footage = shared_file(FOOTAGE)
    # The person camera writes its segments in a second ffmpeg (the clips role alone).
    cameras = f"""
  person:
    ffmpeg:
      inputs:
        - {{path: "{footage}", input_args: -re -ss 70 -t 30, roles: [detect]}}
        - {{path: "{footage}", input_args: -re -ss 70 -t 30, roles: [clips]}}
    width: 768
    height: 432
    fps: 5
{CLIPS}"""
    config, _ = service_config(write_config, cameras)
    clips = config.parent / "media" / "clips"
    process = start(config)
    cache = str(config.parent / "media" / "cache")

    def writer_pid() -> int | None:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if any(part.decode(errors="replace").startswith(cache) for part in command):
                    return int(pid)
        return None

    poll(process, lambda: writer_pid() is not None, 60, "the segment writer")
    time.sleep(9)  # the person is in view from about 4.5 s in: mid-event
    os.kill(writer_pid(), signal.SIGKILL)
    poll(process, lambda: bool(with_clips(clips, "person")), 150, "a clip despite the kill")
    output = stop(process)
    assert "restarting ffmpeg" in output
    [event] = with_clips(clips, "person")[:1]
    assert decodes(clips / f"person-{event['id']}.mp4")
