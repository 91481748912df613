"""Detector calls: our ``Detector.detect`` against the bare runtime on the same tensor.

The baseline is the model alone, built with the same options: the TFLite interpreter's
``invoke()`` with the input already set, or onnxruntime's ``run()`` on an input already in the
model's BGR NCHW float32 layout. Ours adds checking the tensor, copying (for ONNX also
converting, and for the 320 case letterboxing) it into the model's input, reading the outputs
and building ``Detection`` objects (for YOLOX: grid decoding and NMS). A ratio near 1.00 means
the wrapper costs next to nothing. The tensor is grace_hopper.bmp resized to the input size.

The two sides take turns, round after round (``nvr bench``'s harness: each is warmed up
first), and the figures are the medians of the rounds.

The second table is the worker throughput: ``DetectorPool.detect`` with ONE cpu worker, fed by
several concurrent Trio tasks so the worker never idles, against the bare interpreter's loop
of ``set_tensor`` + ``invoke()`` + reading the four outputs on the main thread, same
num_threads, in the same run. The tensors are 300x300 regions cropped (``crop_to_tensor``)
from frames of the footage. Figures are ms per inference (1 / throughput), median of rounds
measured alternately; a ratio of 1.00 means the hand-off through the worker thread is free.
Below it, the hand-off alone: requests per second through a worker whose detector does nothing.

Run: python -m benchmarks.bench_detectors
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable

import numpy as np
import onnxruntime
import trio
from PIL import Image

from benchmarks.common import Row, print_table, shared_file, timed
from nvr.bench import workload
from nvr.bench.detectors import pool_loop, tflite_loop
from nvr.bench.model import Stat
from nvr.bench.workload import frames, probe
from nvr.detection import Detection, Detector, create_detector
from nvr.detection.onnx import session_options
from nvr.detection.tflite import Interpreter
from nvr.detection.workers import DetectorPool

SSD = "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"
YOLOX = "models/yolox_nano.onnx"
PHOTO = "media/test_images/grace_hopper.bmp"
VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
SSD_SIZE = 300
PRODUCERS = 3
INFERENCES = 30
WORKER_ROUNDS = 5


def tensor(size: tuple[int, int]) -> np.ndarray:
    image = Image.open(shared_file(PHOTO)).convert("RGB")
    return np.asarray(image.resize(size, Image.BILINEAR))


def paired(name: str, detector: Detector, baseline: Callable[[], object],
           baseline_name: str) -> Row:
    rgb = tensor(detector.input_size)
    assert any(detection.label == "person" for detection in detector.detect(rgb))
    ours, bare = timed(lambda: detector.detect(rgb), baseline, rounds=9)
    return Row(name, ours, bare, baseline_name)


def ssd_row(threads: int) -> Row:
    detector = create_detector("cpu", shared_file(SSD), shared_file("models/coco_labels.txt"),
                               num_threads=threads)
    interpreter = Interpreter(model_path=str(shared_file(SSD)), num_threads=threads)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    interpreter.set_tensor(source["index"], tensor(detector.input_size)[None])
    return paired(f"cpu SSD 300, {threads} thread(s)", detector, interpreter.invoke,
                  "bare invoke()")


def yolox_row(threads: int, size: int | None = None) -> Row:
    detector = create_detector("onnx", shared_file(YOLOX), shared_file("models/coco80_labels.txt"),
                               num_threads=threads, input_size=(size, size) if size else None)
    session = onnxruntime.InferenceSession(str(shared_file(YOLOX)), session_options(threads),
                                           providers=["CPUExecutionProvider"])
    blob = np.ascontiguousarray(tensor((416, 416))[..., ::-1].transpose(2, 0, 1)[None],
                                np.float32)
    feed = {session.get_inputs()[0].name: blob}
    case = f"onnx YOLOX {f'{size} -> 416' if size else 416}, {threads} thread(s)"
    return paired(case, detector, lambda: session.run(None, feed), "bare run() at 416")


def region_tensors() -> list[np.ndarray]:
    """300x300 RGB regions of three frames of the footage: left, middle and right."""
    video = shared_file(VIDEO)
    info = probe(video)
    return workload.region_tensors(frames(video, info, 3, start=20), info,
                                   (SSD_SIZE, SSD_SIZE))


class NoOpDetector(Detector):
    """Answers at once: what is left to time is the hand-off to the thread and back."""

    @property
    def input_size(self) -> tuple[int, int]:
        return (SSD_SIZE, SSD_SIZE)

    def detect(self, tensor: np.ndarray, min_score: float = 0.4) -> list[Detection]:
        return []


async def hand_off_cost(requests: int = 3000) -> float:
    """Seconds per request through one worker with the no-op detector."""
    pool = DetectorPool({"noop": NoOpDetector}, (SSD_SIZE, SSD_SIZE))
    tensor = np.zeros((SSD_SIZE, SSD_SIZE, 3), np.uint8)
    issued = 0

    async def producer() -> None:
        nonlocal issued
        while issued < requests:
            issued += 1
            await pool.detect(tensor, 0.4)

    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        runs = []
        for _ in range(WORKER_ROUNDS):
            issued, start = 0, time.perf_counter()
            async with trio.open_nursery() as producers:
                for _ in range(PRODUCERS):
                    producers.start_soon(producer)
            runs.append((time.perf_counter() - start) / requests)
        nursery.cancel_scope.cancel()
    return statistics.median(runs)


def timing(runs: list[float]) -> Stat:
    return Stat.of(runs)


async def worker_row(threads: int) -> Row:
    tensors = region_tensors()
    factory = functools.partial(create_detector, "cpu", shared_file(SSD),
                                shared_file("models/coco_labels.txt"), num_threads=threads)
    interpreter = Interpreter(model_path=str(shared_file(SSD)), num_threads=threads)
    interpreter.allocate_tensors()
    pool = DetectorPool({"cpu": factory}, (SSD_SIZE, SSD_SIZE))
    ours, baseline = [], []
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await pool_loop(pool, tensors, INFERENCES, PRODUCERS)  # warm-up, both sides
        tflite_loop(interpreter, tensors, INFERENCES)
        for _ in range(WORKER_ROUNDS):
            ours.append(await pool_loop(pool, tensors, INFERENCES, PRODUCERS))
            baseline.append(tflite_loop(interpreter, tensors, INFERENCES))
        nursery.cancel_scope.cancel()
    return Row(f"1 cpu worker, {threads} thread(s)", timing(ours), timing(baseline),
               "bare set_tensor+invoke+outputs")


def main() -> None:
    rows = [ssd_row(1), ssd_row(2), yolox_row(1), yolox_row(2), yolox_row(1, 320)]
    print_table("One detector call on a model-size tensor (ms per call)", rows)
    worker_rows = [trio.run(worker_row, threads) for threads in (1, 2)]
    print_table(f"DetectorPool.detect throughput, SSD 300, {PRODUCERS} producer tasks "
                "(ms per inference)", worker_rows)
    for row in worker_rows:
        print(f"{row.name}: {1 / row.ours.median:.1f} inferences/s through the pool, "
              f"{1 / row.baseline.median:.1f} bare")
    cost = trio.run(hand_off_cost)
    print(f"hand-off alone (no-op detector): {cost * 1e6:.0f} us per request, "
          f"{1 / cost:.0f} requests/s")


if __name__ == "__main__":
    main()
