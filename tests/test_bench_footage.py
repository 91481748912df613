"""The benchmarks' simulated cameras: a shared clip looped in real time from an offset."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from nvr.bench.footage import FPS, service_config
from nvr.bench.workload import probe
from nvr.config.ffmpeg import camera_commands
from support import FOOTAGE, SSD, SSD_LABELS, shared_file

SECONDS_BEFORE_THE_LOOP = 6.0
READ_SECONDS = 12.0


def test_a_camera_started_mid_file_keeps_its_frame_rate_across_the_loop(
        tmp_path: Path) -> None:
    # ffmpeg 7+ with "-ss offset -stream_loop -1" stalled at every loop for as long as the
    # offset's distance to the end: here frames would stop for about 6 s of the 12 read.
    video = shared_file(FOOTAGE)
    info = probe(video)
    config = service_config(tmp_path, video, info, shared_file(SSD), shared_file(SSD_LABELS),
                            1, detect=False, offsets=[info.duration - SECONDS_BEFORE_THE_LOOP])
    [(name, camera)] = config.cameras.items()
    [command] = camera_commands(name, camera, config.media)
    frame_size = info.width * info.height * 3 // 2
    process = subprocess.Popen([*command.detect_argv[:1], "-v", "error",
                                *command.detect_argv[1:]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        frames = 0
        deadline = time.monotonic() + READ_SECONDS
        while time.monotonic() < deadline:
            if len(process.stdout.read(frame_size)) < frame_size:
                break
            frames += 1
    finally:
        process.kill()
        _, errors = process.communicate()
    # Real time at FPS, less a margin for start-up: the stall would cost about 30 frames.
    assert frames >= FPS * (READ_SECONDS - 2), (frames, errors.decode()[-2000:])
