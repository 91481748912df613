"""Pipeline cost of one camera: motion, regions and model-input crops per frame.

Real footage of a person walking in, scaled to 1280x720 (ffmpeg decode excluded). Ours is
``Camera``'s per-frame work (``MotionDetector.detect``, ``select_regions``, one
``crop_to_tensor`` per region to a 320x320 tensor). The baseline is the same steps done with
OpenCV (motion), plain Python (region selection) and NumPy + Pillow (crops), timed in turns
with ours (``nvr bench``'s harness). The last column
is what one camera at 5 fps costs as a share of one core.

    python -m benchmarks.bench_pipeline
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmarks.bench_motion import EMPTY_ROOM, WALKING_IN
from benchmarks.common import shared_file
from nvr._fast.motion import MotionDetector
from nvr._fast.regions import crop_to_tensor, select_regions
from nvr.bench import python_regions
from nvr.bench.model import Stat
from nvr.bench.references import WARM_UP_FRAMES, OpenCVMotionDetector, numpy_pillow_crop
from nvr.bench.timing import per_unit
from nvr.capture.decode import decode_file, split_frames
from nvr.frames import planes

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
WIDTH, HEIGHT, FPS, MODEL = 1280, 720, 5, 320
ROUNDS = 9


def frames(start: float, duration: float) -> list[np.ndarray]:
    raw = decode_file(shared_file(VIDEO), start=start, duration=duration,
                      filters=f"scale={WIDTH}:{HEIGHT}")
    return [frame.copy() for frame in split_frames(raw, WIDTH, HEIGHT)]


class Pipeline:
    """Per-frame work of one camera, with either our kernels or the baseline's steps."""

    def __init__(self, ours: bool) -> None:
        settings = {"frame_height": HEIGHT // 6}
        self.ours = ours
        self.motion = (MotionDetector if ours else OpenCVMotionDetector)(WIDTH, HEIGHT, **settings)
        self.tensor = np.zeros((MODEL, MODEL, 3), np.uint8)
        self.regions = 0

    def process(self, frame: np.ndarray) -> None:
        y, u, v = planes(frame, WIDTH, HEIGHT)
        boxes = self.motion.detect(y)
        if not boxes:
            return
        if self.ours:
            for region in select_regions(boxes, [], WIDTH, HEIGHT):
                crop_to_tensor(y, u, v, region, self.tensor)
                self.regions += 1
        else:
            for region in python_regions.select_regions(boxes, [], WIDTH, HEIGHT):
                self.tensor[:] = numpy_pillow_crop(planes(frame, WIDTH, HEIGHT), region, MODEL)
                self.regions += 1


def main() -> None:
    cv2.setNumThreads(1)
    empty = frames(EMPTY_ROOM, 0.1)[0]
    start, end = WALKING_IN
    moving = frames(start, end - start)
    pipelines = {"ours": Pipeline(True), "baseline": Pipeline(False)}
    for pipeline in pipelines.values():
        for _ in range(WARM_UP_FRAMES):
            pipeline.process(empty)

    def through(pipeline: Pipeline) -> int:
        for frame in moving:
            pipeline.process(frame)
        return len(moving)

    samples = per_unit([lambda p=pipeline: through(p) for pipeline in pipelines.values()],
                       ROUNDS, budget=0)
    timings = {name: Stat.of(taken) for name, taken in zip(pipelines, samples, strict=True)}
    ours = pipelines["ours"]
    ours.regions = 0
    for frame in moving:
        ours.process(frame)
    regions = ours.regions / len(moving)

    print(f"\nPipeline per {WIDTH}x{HEIGHT} frame with motion (motion + regions + "
          f"{MODEL}x{MODEL} crops, {regions:.1f} regions per frame), median of {ROUNDS} rounds "
          f"over {len(moving)} frames")
    print(f"{'':28} {'ms per frame (min-max)':>26} {'share of a core at 5 fps':>26}")
    for name, label in (("ours", "nvr kernels"),
                        ("baseline", "OpenCV + Python + Pillow")):
        timing = timings[name]
        print(f"{label:28} {timing.median * 1e3:10.3f} ({timing.low * 1e3:.3f}-"
              f"{timing.high * 1e3:.3f}) {timing.median * FPS:25.2%}")
    ratio = timings["baseline"].median / timings["ours"].median
    print(f"ratio: ours is {ratio:.2f}x faster; cameras per core at {FPS} fps with constant "
          f"motion: {1 / (timings['ours'].median * FPS):.0f}")


if __name__ == "__main__":
    main()
