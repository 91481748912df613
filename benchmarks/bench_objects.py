"""The whole object pipeline on real footage with the real SSD model, stage by stage.

The one-by-one clip (768x432, people walking in one at a time, empty stretches between them)
at 5 fps, as a camera with ``fps: 5`` processes it: ffmpeg decode, motion, detection (region
selection, crops, detector calls, filters, NMS, refinement) and tracking (tracker, object
state, zones, best frames). Detection calls the interpreter directly (no worker thread;
bench_detectors measures that hand-off). The baseline in the same run is what an NVR without
motion gating does: the detector on the whole frame (resized to the model input) for every
frame. Sustained fps is 1 / the sum of the stages, on one core.

    python -m benchmarks.bench_objects
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import trio

from benchmarks.common import shared_file
from nvr._fast.motion import MotionDetector
from nvr._fast.regions import crop_to_tensor
from nvr.capture.decode import decode_file, split_frames
from nvr.config import load_config
from nvr.config.schema import CameraConfig
from nvr.detection import create_detector
from nvr.detection.frame import DetectorCalls, FrameDetector
from nvr.frames import planes
from nvr.tracking.best import BestObjects
from nvr.tracking.state import CameraObjects

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
SSD = "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"
LABELS = "models/coco_labels.txt"
WIDTH, HEIGHT, FPS = 768, 432, 5
ROUNDS = 3
STAGES = ("decode", "motion", "detection", "tracking")


def camera_config() -> CameraConfig:
    """A camera with every default, as ``nvr run`` resolves it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yml"
        path.write_text(f"""
cameras:
  bench:
    ffmpeg: {{inputs: [{{path: x.mp4, roles: [detect]}}]}}
    width: {WIDTH}
    height: {HEIGHT}
    fps: {FPS}
""")
        return load_config(path, {}).cameras["bench"]


def timed(totals: dict[str, float], stage: str, call: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = call()
    totals[stage] += time.perf_counter() - start
    return result


async def one_round(frames: list[np.ndarray], decode_seconds: float, config,
                    detector) -> tuple[dict[str, float], int, int]:
    totals = dict.fromkeys(STAGES, 0.0)
    totals["decode"] = decode_seconds
    calls = DetectorCalls()

    async def detect(tensor: np.ndarray, min_score: float):
        return detector.detect(tensor, min_score)

    motion = MotionDetector(WIDTH, HEIGHT, frame_height=config.motion.frame_height)
    frame_detector = FrameDetector(config, detect, detector.input_size, calls.add)
    objects = CameraObjects("bench", config, (), BestObjects(None, 60))
    registered = set()
    for index, frame in enumerate(frames):
        frame_time = index / FPS
        boxes = timed(totals, "motion", lambda f=frame: motion.detect(planes(f, WIDTH, HEIGHT).y))
        start = time.perf_counter()
        found, regions = await frame_detector.detect(frame, boxes, objects.tracked_boxes(),
                                                     objects.due_for_check(frame_time),
                                                     objects.still_boxes(frame_time))
        totals["detection"] += time.perf_counter() - start
        timed(totals, "tracking", lambda f=frame, t=frame_time, d=found, r=regions:
              objects.update(f, False, t, d, r))
        registered.update(objects.objects)
    return totals, calls.calls, len(registered)


def whole_frame_every_frame(frames: list[np.ndarray], detector) -> float:
    """Seconds to run the detector on each whole frame resized to the model input."""
    side = detector.input_size[0]
    tensor = np.empty((side, side, 3), np.uint8)
    start = time.perf_counter()
    for frame in frames:
        y, u, v = planes(frame, WIDTH, HEIGHT)
        crop_to_tensor(y, u, v, (0, 0, WIDTH, WIDTH), tensor)
        detector.detect(tensor)
    return time.perf_counter() - start


def main() -> None:
    start = time.perf_counter()
    raw = decode_file(shared_file(VIDEO), filters=f"fps={FPS}")
    decode_seconds = time.perf_counter() - start
    frames = [frame.copy() for frame in split_frames(raw, WIDTH, HEIGHT)]
    detector = create_detector("cpu", shared_file(SSD), shared_file(LABELS), num_threads=1)
    config = camera_config()
    rounds, baseline = [], []
    for _ in range(ROUNDS):
        rounds.append(trio.run(one_round, frames, decode_seconds, config, detector))
        baseline.append(whole_frame_every_frame(frames, detector))
    per_frame = {stage: statistics.median(r[0][stage] for r in rounds) / len(frames)
                 for stage in STAGES}
    calls, objects = rounds[0][1], rounds[0][2]
    total = sum(per_frame.values())
    naive = statistics.median(baseline) / len(frames)

    print(f"\nWhole pipeline on {VIDEO} at {FPS} fps ({len(frames)} frames, {WIDTH}x{HEIGHT}), "
          f"SSD MobileNet v1 on 1 thread; median of {ROUNDS} rounds")
    print(f"{'stage':12} {'ms per frame':>13} {'share':>7}")
    for stage in STAGES:
        print(f"{stage:12} {per_frame[stage] * 1e3:13.2f} {per_frame[stage] / total:7.1%}")
    print(f"{'total':12} {total * 1e3:13.2f}")
    print(f"detector calls per frame: {calls / len(frames):.2f}; objects tracked: {objects}")
    print(f"\n{'':44} {'frames/s':>9}")
    print(f"{'nvr (decode + motion-gated detection)':44} {1 / total:9.1f}")
    every_frame = naive + per_frame["decode"]
    print(f"{'baseline: detector on every whole frame':44} {1 / every_frame:9.1f}")
    print(f"ratio: {every_frame / total:.2f}x; cameras like this at {FPS} fps "
          f"per core: {1 / (total * FPS):.1f}")


if __name__ == "__main__":
    main()
