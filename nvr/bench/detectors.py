"""Detector throughput: our ``Detector.detect`` and ``DetectorPool`` against the bare runtime.

For each configured kind (``cpu`` and ``onnx`` on 1 thread and on all cores, ``edgetpu`` when
its delegate loads), on model-size regions cropped from the video:

- ``detect``: inferences/s of ``Detector.detect`` against the interpreter's own ``invoke()``
  (onnxruntime's ``run()``) with the input already in place;
- ``DetectorPool`` worker: inferences/s through one worker thread fed by several Trio tasks,
  against the bare loop of setting the input, invoking and reading the outputs on one thread.

A kind that cannot run here (no Edge TPU, no onnxruntime, no ONNX model) is skipped with a
note through ``progress``; ``active_delegates`` describes what each kind runs on.
"""

from __future__ import annotations

import functools
import importlib.metadata
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path
from typing import Any

import numpy as np
import trio

from nvr.bench.model import BenchInputs, Figure, Progress
from nvr.bench.timing import per_unit, rate
from nvr.bench.workload import (
    VideoInfo,
    frames,
    probe,
    region_tensors,
    thread_counts,
    threads_label,
)
from nvr.detection import Detector, create_detector
from nvr.detection.workers import DetectorPool

PRODUCERS = 3
"""Trio tasks asking the pool for detections at once, so that its worker never idles."""
EDGETPU_DEVICE = ""  # the first Edge TPU found
REGION_FRAMES = 3


def _plan(quick: bool) -> tuple[int, float]:
    """Rounds and seconds per sample of a quick or a full run."""
    return (3, 0.25) if quick else (7, 0.8)


@dataclass
class Bare:
    """The runtime alone, built with the detector's options.

    ``invoke`` runs the model on the input already set; ``loop`` sets each tensor, invokes
    and reads the outputs, as a worker would without our wrapper.
    """

    invoke: Callable[[], object]
    loop: Callable[[list[np.ndarray], int], object]
    name: str
    loop_name: str


def tflite_loop(interpreter: Any, tensors: list[np.ndarray], inferences: int) -> float:
    """Seconds per inference of ``set_tensor`` + ``invoke()`` + reading every output."""
    (source,) = interpreter.get_input_details()
    outputs = [output["index"] for output in interpreter.get_output_details()]
    start = time.perf_counter()
    for index in range(inferences):
        interpreter.set_tensor(source["index"], tensors[index % len(tensors)][None])
        interpreter.invoke()
        for output in outputs:
            interpreter.get_tensor(output)
    return (time.perf_counter() - start) / inferences


def bare_tflite(model: Path, threads: int, tensors: list[np.ndarray],
                delegate: object | None = None) -> Bare:
    """The TFLite interpreter alone on ``threads`` threads (and the delegate, if any)."""
    from nvr.detection.tflite import Interpreter

    interpreter = Interpreter(model_path=str(model), num_threads=threads,
                              experimental_delegates=[delegate] if delegate else None)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    interpreter.set_tensor(source["index"], tensors[0][None])
    return Bare(interpreter.invoke, functools.partial(tflite_loop, interpreter),
                "bare invoke()", "bare set_tensor + invoke() + outputs")


def bare_onnx(model: Path, threads: int, tensors: list[np.ndarray]) -> Bare:
    """An onnxruntime session alone, input in the model's BGR NCHW float32 layout."""
    import onnxruntime

    from nvr.detection.onnx import session_options

    session = onnxruntime.InferenceSession(str(model), session_options(threads),
                                           providers=["CPUExecutionProvider"])
    (source,) = session.get_inputs()
    _, _, height, width = source.shape
    blob = np.zeros((1, 3, height, width), np.float32)
    feed = {source.name: blob}

    def put(tensor: np.ndarray) -> None:
        rows, cols = min(height, tensor.shape[0]), min(width, tensor.shape[1])
        blob[0, :, :rows, :cols] = tensor[:rows, :cols, ::-1].transpose(2, 0, 1)

    def loop(tensors: list[np.ndarray], count: int) -> None:
        for index in range(count):
            put(tensors[index % len(tensors)])
            session.run(None, feed)

    put(tensors[0])
    return Bare(lambda: session.run(None, feed), loop, "bare run()",
                "bare BGR NCHW input + run()")


async def pool_loop(pool: DetectorPool, tensors: list[np.ndarray], inferences: int,
                    producers: int = PRODUCERS) -> float:
    """Seconds per inference of ``pool.detect`` over ``inferences`` tensors, asked for by
    ``producers`` concurrent tasks."""
    issued = 0

    async def producer() -> None:
        nonlocal issued
        while issued < inferences:
            issued += 1
            await pool.detect(tensors[issued % len(tensors)], 0.4)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(producers):
            nursery.start_soon(producer)
    return (time.perf_counter() - start) / inferences


async def _pool_samples(factory: Callable[[], Detector], size: tuple[int, int],
                        tensors: list[np.ndarray], bare: Bare, rounds: int,
                        budget: float) -> tuple[list[float], list[float]]:
    """Seconds per inference through a one-worker pool and through ``bare.loop``, in turns."""
    pool = DetectorPool({"bench": factory}, size)
    ours: list[float] = []
    reference: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        await pool_loop(pool, tensors, 2)  # warm-up
        once = await pool_loop(pool, tensors, 2)
        count = max(2, round(budget / once))
        bare.loop(tensors, 2)
        for _ in range(rounds):
            ours.append(await pool_loop(pool, tensors, count))
            start = time.perf_counter()
            bare.loop(tensors, count)
            reference.append((time.perf_counter() - start) / count)
        nursery.cancel_scope.cancel()
    return ours, reference


def _detect_work(detector: Detector, tensors: list[np.ndarray]) -> Callable[[], int]:
    ring: Iterator[np.ndarray] = cycle(tensors)

    def work() -> int:
        detector.detect(next(ring))
        return 1

    return work


def _invoke_work(bare: Bare) -> Callable[[], int]:
    def work() -> int:
        bare.invoke()
        return 1

    return work


def kind_figures(kind: str, label: str, factory: Callable[[], Detector],
                 make_bare: Callable[[list[np.ndarray]], Bare], clip: list[np.ndarray],
                 info: VideoInfo, rounds: int, budget: float,
                 progress: Progress) -> list[Figure]:
    """The ``detect`` and pool figures of one detector configuration."""
    progress(f"detector {kind}, {label}: detect")
    detector = factory()
    tensors = region_tensors(clip, info, detector.input_size)
    bare = make_bare(tensors)
    ours, theirs = per_unit([_detect_work(detector, tensors), _invoke_work(bare)],
                            rounds, budget)
    figures = [Figure("detector", f"{kind} detect, {label}", "inferences/s", rate(ours),
                      rate(theirs), bare.name, higher_is_better=True)]
    del detector
    progress(f"detector {kind}, {label}: DetectorPool worker")
    size = (tensors[0].shape[1], tensors[0].shape[0])
    ours, theirs = trio.run(_pool_samples, factory, size, tensors, bare, rounds, budget)
    figures.append(Figure("detector", f"{kind} DetectorPool worker, {label}", "inferences/s",
                          rate(ours), rate(theirs), bare.loop_name, higher_is_better=True))
    return figures




def edgetpu_delegate() -> tuple[object | None, str]:
    """The Edge TPU delegate and a description, or None and why it cannot load."""
    from nvr.detection.tflite import EDGETPU_LIBRARY, load_edgetpu_delegate

    delegate, reason = load_edgetpu_delegate(EDGETPU_DEVICE)
    if delegate is None:
        return None, f"no Edge TPU: {reason}"
    return delegate, f"Edge TPU delegate ({EDGETPU_LIBRARY}, device {EDGETPU_DEVICE or 'any'})"


def _onnx_missing(inputs: BenchInputs) -> str | None:
    """Why the onnx kind cannot run, or None."""
    if inputs.onnx_model is None or inputs.onnx_labels is None:
        return "no ONNX model (and labels) given"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed (pip install 'nvr-recorder[onnx]')"
    return None


def _tflite_runtime() -> str:
    """The TFLite package in use and its version."""
    from nvr.detection.tflite import Interpreter

    package = Interpreter.__module__.split(".")[0].replace("_", "-")
    try:
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return package


def active_delegates(inputs: BenchInputs) -> dict[str, str]:
    """What each configured detector kind runs on here, for the machine description."""
    described = {}
    for kind in inputs.detectors:
        if kind == "cpu":
            described[kind] = f"CPU, TFLite built-in kernels + XNNPACK ({_tflite_runtime()})"
        elif kind == "edgetpu":
            delegate, description = edgetpu_delegate()
            described[kind] = description if delegate else f"unavailable: {description}"
            del delegate
        elif kind == "onnx":
            missing = _onnx_missing(inputs)
            if missing:
                described[kind] = f"unavailable: {missing}"
            else:
                import onnxruntime

                described[kind] = f"onnxruntime {onnxruntime.__version__}, CPUExecutionProvider"
        else:
            described[kind] = "unknown detector kind"
    return described


def run(inputs: BenchInputs, progress: Progress) -> list[Figure]:
    """Throughput figures of every detector kind in ``inputs.detectors`` that runs here."""
    rounds, budget = _plan(inputs.quick)
    info = probe(inputs.video)
    start = min(20.0, info.duration / 2) if info.duration else 0.0
    clip = frames(inputs.video, info, REGION_FRAMES, start=start)
    if not clip:
        raise ValueError(f"ffmpeg decodes no frames from {inputs.video}")
    figures: list[Figure] = []
    for kind in dict.fromkeys(inputs.detectors):
        if kind == "edgetpu":
            delegate, description = edgetpu_delegate()
            if delegate is None:
                progress(f"detector edgetpu skipped: {description}")
                continue
            factory = functools.partial(create_detector, "edgetpu", inputs.model,
                                        inputs.labels, device=EDGETPU_DEVICE)
            make = functools.partial(bare_tflite, inputs.model, 1, delegate=delegate)
            try:
                figures += kind_figures(kind, "Edge TPU", factory, make, clip, info, rounds,
                                        budget, progress)
            except (OSError, RuntimeError, ValueError) as error:
                progress(f"detector edgetpu skipped: {error}")
        elif kind in ("cpu", "onnx"):
            if kind == "onnx" and (missing := _onnx_missing(inputs)):
                progress(f"detector onnx skipped: {missing}")
                continue
            model, labels, bare = ((inputs.model, inputs.labels, bare_tflite) if kind == "cpu"
                                   else (inputs.onnx_model, inputs.onnx_labels, bare_onnx))
            assert model is not None and labels is not None  # checked by _onnx_missing
            for threads in thread_counts():
                factory = functools.partial(create_detector, kind, model, labels,
                                            num_threads=threads)
                figures += kind_figures(kind, threads_label(threads), factory,
                                        functools.partial(bare, model, threads), clip, info,
                                        rounds, budget, progress)
        else:
            progress(f"detector {kind} skipped: unknown kind")
    return figures
