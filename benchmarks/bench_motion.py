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

import statistics
from functools import partial

import cv2
import numpy as np

from benchmarks.common import Row, Timing, measure, print_table, shared_file
from nvr._fast.motion import MotionDetector
from nvr.capture.decode import decode_file, split_frames
from nvr.frames import planes

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
EMPTY_ROOM = 4.0  # seconds into the footage: nobody there yet
WALKING_IN = (6.5, 10.0)  # a person walks in and up to the table
RING = 4
SIZES = [(1280, 720), (1920, 1080)]
WARM_UP_FRAMES = 30


class OpenCVMotionDetector:
    """Reference behaviour §5 written with OpenCV calls (float32 state, contour areas)."""

    def __init__(self, width: int, height: int, *, frame_height: int, threshold: int = 25,
                 contour_area: int = 100, delta_alpha: float = 0.2,
                 frame_alpha: float = 0.2) -> None:
        self.size = (frame_height * width // height, frame_height)
        self.scale = height / frame_height
        self.threshold = threshold
        self.contour_area = contour_area
        self.delta_alpha, self.frame_alpha = delta_alpha, frame_alpha
        self.avg_frame = np.zeros(self.size[::-1], np.float32)
        self.avg_delta = np.zeros(self.size[::-1], np.float32)
        self.frame_counter = 0
        self.motion_frame_count = 0

    def detect(self, luma: np.ndarray) -> list[tuple[int, int, int, int]]:
        small = cv2.resize(luma, self.size, interpolation=cv2.INTER_LINEAR)
        boxes = []
        if self.frame_counter < WARM_UP_FRAMES:
            self.frame_counter += 1
        else:
            delta = cv2.absdiff(small, cv2.convertScaleAbs(self.avg_frame))
            cv2.accumulateWeighted(delta, self.avg_delta, self.delta_alpha)
            _, current = cv2.threshold(delta, self.threshold, 255, cv2.THRESH_BINARY)
            changing = cv2.bitwise_and(cv2.convertScaleAbs(self.avg_delta), current)
            _, thresh = cv2.threshold(changing, self.threshold, 255, cv2.THRESH_BINARY)
            thresh = cv2.dilate(thresh, None, iterations=2)
            contours, _ = cv2.findContours(thresh, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                if cv2.contourArea(contour) > self.contour_area:
                    x, y, w, h = cv2.boundingRect(contour)
                    boxes.append((int(x * self.scale), int(y * self.scale),
                                  int((x + w) * self.scale), int((y + h) * self.scale)))
        if boxes:
            self.motion_frame_count += 1
            if self.motion_frame_count >= 10:
                cv2.accumulateWeighted(small, self.avg_frame, self.frame_alpha)
        else:
            cv2.accumulateWeighted(small, self.avg_frame, self.frame_alpha)
            self.motion_frame_count = 0
        return boxes


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


def per_frame(detectors: list[Detector], frames: list[np.ndarray], rounds: int) -> list[Timing]:
    """Seconds per ``detect`` of each detector, running through ``frames`` in order.

    The detectors take turns, round after round, so that load from elsewhere on the machine
    hits them alike.
    """
    runs = [partial(run_through, detector, frames) for detector in detectors]
    number = max(1, 64 // len(frames))
    times: list[list[float]] = [[] for _ in detectors]
    for _ in range(rounds):
        for run, taken in zip(runs, times, strict=True):
            taken.append(measure(run, repeat=1, number=number).median / len(frames))
    return [Timing(statistics.median(taken), min(taken), max(taken)) for taken in times]


def run_through(detector: Detector, frames: list[np.ndarray]) -> None:
    for frame in frames:
        detector.detect(frame)


def main() -> None:
    cv2.setNumThreads(1)
    reference = f"OpenCV {cv2.__version__}, 1 thread"
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
            rows.append(Row(f"{width}x{height}, frames {case}", *timings, reference))
    print_table("Motion detection per frame (frame_height = height // 6, defaults)", rows)


if __name__ == "__main__":
    main()
