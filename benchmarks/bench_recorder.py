"""CPU cost of recording one camera: the segment writer (stream copy) as a share of a core.

A camera's clips/record input runs one ffmpeg that copies the stream into segments. Here it
records the one-by-one clip (768x432 H.264) in real time (``-re``, as a camera delivers it)
with the clips output arguments nvr uses, for ``SECONDS`` s; its CPU time comes from the
kernel's accounting of the finished child. The baseline, measured the same way in the same
run, is what the camera costs anyway: ffmpeg decoding the same stream for detection.

    python -m benchmarks.bench_recorder
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import shared_file
from nvr.config.ffmpeg import SEGMENT_NAME, ffmpeg_executable
from nvr.config.schema import OutputArgsConfig

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
SECONDS = 20
ROUNDS = 3


def child_cpu_seconds(argv: list[str]) -> float:
    """User + system CPU seconds of running ``argv`` to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, capture_output=True, timeout=SECONDS * 4)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    source = ["-re", "-t", str(SECONDS), "-i", str(shared_file(VIDEO))]
    ffmpeg = [ffmpeg_executable(), "-v", "error", "-y"]
    copy, decode = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(ROUNDS):
            out = str(Path(folder) / f"bench-{SEGMENT_NAME}")
            copy.append(child_cpu_seconds([*ffmpeg, *source, *OutputArgsConfig().clips, out]))
            decode.append(child_cpu_seconds([*ffmpeg, *source, "-f", "null", "-"]))
            time.sleep(1)  # strftime names have 1 s resolution
    share = statistics.median(copy) / SECONDS
    baseline = statistics.median(decode) / SECONDS
    print(f"\nRecording one 768x432 H.264 camera in real time ({SECONDS} s, median of {ROUNDS})")
    print(f"{'':44} {'share of a core (min-max)':>28}")
    print(f"{'nvr segment writer (stream copy)':44} {share:10.2%} ({min(copy) / SECONDS:.2%}-"
          f"{max(copy) / SECONDS:.2%})")
    print(f"{'baseline: decoding the same stream':44} {baseline:10.2%} "
          f"({min(decode) / SECONDS:.2%}-{max(decode) / SECONDS:.2%})")
    print(f"ratio: recording costs {share / baseline:.2f}x a decode; cameras recorded per core: "
          f"{1 / share:.0f}")


if __name__ == "__main__":
    main()
