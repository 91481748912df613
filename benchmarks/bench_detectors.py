"""Detector calls: our ``Detector.detect`` against the bare runtime on the same tensor.

The reference is the model alone, built with the same options: the TFLite interpreter's
``invoke()`` with the input already set, or onnxruntime's ``run()`` on an input already in the
model's BGR NCHW float32 layout. Ours adds checking the tensor, copying (for ONNX also
converting, and for the 320 case letterboxing) it into the model's input, reading the outputs
and building ``Detection`` objects (for YOLOX: grid decoding and NMS). A ratio near 1.00 means
the wrapper costs next to nothing. The tensor is grace_hopper.bmp resized to the input size.

The two sides are measured alternately for a few rounds and each keeps its best round: on
these machines whichever runs first often pays a warm-up of several ms per call.

Run: python -m benchmarks.bench_detectors
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnxruntime
from PIL import Image

from benchmarks.common import Row, Timing, measure, print_table, shared_file
from nvr.detection import Detector, create_detector
from nvr.detection.onnx import session_options
from nvr.detection.tflite import Interpreter

SSD = "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"
YOLOX = "models/yolox_nano.onnx"
PHOTO = "media/test_images/grace_hopper.bmp"


def tensor(size: tuple[int, int]) -> np.ndarray:
    image = Image.open(shared_file(PHOTO)).convert("RGB")
    return np.asarray(image.resize(size, Image.BILINEAR))


def paired(name: str, detector: Detector, reference: Callable[[], object],
           reference_name: str, rounds: int = 3) -> Row:
    rgb = tensor(detector.input_size)
    assert any(detection.label == "person" for detection in detector.detect(rgb))
    timings: list[tuple[Timing, Timing]] = [
        (measure(lambda: detector.detect(rgb)), measure(reference)) for _ in range(rounds)]
    best = min((ours for ours, _ in timings), key=lambda timing: timing.median)
    best_reference = min((ref for _, ref in timings), key=lambda timing: timing.median)
    return Row(name, best, best_reference, reference_name)


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


def main() -> None:
    rows = [ssd_row(1), ssd_row(2), yolox_row(1), yolox_row(2), yolox_row(1, 320)]
    print_table("One detector call on a model-size tensor (ms per call)", rows)


if __name__ == "__main__":
    main()
