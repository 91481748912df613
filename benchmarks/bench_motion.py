"""Motion detection per frame: ``nvr._fast.motion`` against the same algorithm in OpenCV.

Real footage (a person walking in) scaled by ffmpeg to camera sizes. Both detectors first
learn the empty room, then are timed on the frames with motion, in order:

- frames in cache: a ring of 4 frames (at most 8 MB of luma), as in the service, where
  ``detect`` runs right after the reader has copied the frame from ffmpeg's pipe;
- frames from RAM: all 35 frames, 32 MB of luma at 720p and 73 MB at 1080p, more than a
  last-level cache keeps.

OpenCV runs on one thread: each camera's frames are processed one at a time, so a frame's
cost is what one core spends on it (OpenCV's worker threads would only compete with the
other cameras).

    python -m benchmarks.bench_motion
"""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np

from benchmarks.common import Row, print_table, shared_file
from nvr._fast.motion import MotionDetector
from nvr.bench.model import Stat
from nvr.bench.references import WARM_UP_FRAMES, OpenCVMotionDetector
from nvr.bench.timing import per_unit
from nvr.capture.decode import decode_file, split_frames
from nvr.frames import planes

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
EMPTY_ROOM = 4.0  # seconds into the footage: nobody there yet
WALKING_IN = (6.5, 10.0)  # a person walks in and up to the table
RING = 4
SIZES = [(1280, 720), (1920, 1080)]


Detector = MotionDetector | OpenCVMotionDetector


def luma_frames(width: int, height: int, start: float, duration: float) -> list[np.ndarray]:
    """Y planes of the footage from ``start`` for ``duration`` s, scaled to width x height."""
    raw = decode_file(shared_file(VIDEO), start=start, duration=duration,
                      filters=f"scale={width}:{height}")
    return [planes(frame, width, height).y for frame in split_frames(raw, width, height)]


def warmed_up(detector: Detector, empty: np.ndarray, moving: list[np.ndarray]) -> Detector:
    """``detector`` after learning the empty room; checks that it sees the person."""
    for _ in range(WARM_UP_FRAMES):
        detector.detect(empty)
    with_motion = sum(bool(detector.detect(frame)) for frame in moving)
    if with_motion < len(moving) * 0.9:
        raise SystemExit(f"{type(detector).__name__} saw motion in only {with_motion} of "
                         f"{len(moving)} frames: the benchmark footage is wrong")
    return detector


def per_frame(detectors: list[Detector], frames: list[np.ndarray], rounds: int) -> list[Stat]:
    """Seconds per ``detect`` of each detector, running through ``frames`` in order, the
    detectors taking turns (``nvr bench``'s harness)."""
    works = [partial(run_through, detector, frames) for detector in detectors]
    return [Stat.of(taken) for taken in per_unit(works, rounds, budget=0.05)]


def run_through(detector: Detector, frames: list[np.ndarray]) -> int:
    for frame in frames:
        detector.detect(frame)
    return len(frames)


def main() -> None:
    cv2.setNumThreads(1)
    baseline = f"OpenCV {cv2.__version__}, 1 thread"
    rows = []
    for width, height in SIZES:
        empty = luma_frames(width, height, EMPTY_ROOM, 0.1)[0]
        start, end = WALKING_IN
        moving = luma_frames(width, height, start, end - start)
        settings = {"frame_height": height // 6}
        ours = warmed_up(MotionDetector(width, height, **settings), empty, moving)
        theirs = warmed_up(OpenCVMotionDetector(width, height, **settings), empty, moving)
        for case, frames, rounds in (("in cache", moving[:RING], 41),
                                     ("from RAM", moving, 15)):
            timings = per_frame([ours, theirs], frames, rounds)
            rows.append(Row(f"{width}x{height}, frames {case}", *timings, baseline))
    print_table("Motion detection per frame (frame_height = height // 6, defaults)", rows)


if __name__ == "__main__":
    main()
