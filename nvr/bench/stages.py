"""The per-frame stages on the video's own frames, each next to a reference in the same run.

- decode: frames/s ffmpeg delivers at the video's size, 1 thread and all cores, against real
  time (the video's frame rate);
- motion: ``MotionDetector.detect`` per frame against the same algorithm in OpenCV (1 thread);
  no reference without OpenCV;
- regions: ``select_regions`` per frame with motion against the same algorithm in plain Python;
- model_input: ``crop_to_tensor`` per region against NumPy + Pillow;
- overlays: ``render_jpeg`` with every overlay at h=360 (an MJPEG frame) against Pillow resizing
  and simplejpeg encoding the bare frame, and at full size (latest.jpg) against a bare encode.

The frames come from the start of the video: the motion detectors learn from the first
``WARM_UP_FRAMES``, the rest are timed in order. Regions and crops use the motion our detector
found there (the previous frame's motion boxes standing in for tracked objects); a video
without motion falls back to a person-sized box in the middle.
"""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simplejpeg

from nvr._fast.i420 import frame_size
from nvr._fast.motion import MotionDetector
from nvr._fast.regions import crop_to_tensor, select_regions
from nvr.bench import python_regions
from nvr.bench.model import BenchInputs, Figure, Progress, Stat
from nvr.bench.references import (
    WARM_UP_FRAMES,
    OpenCVMotionDetector,
    numpy_pillow_crop,
    opencv,
    pillow_resize,
)
from nvr.bench.timing import Work, milliseconds, per_unit
from nvr.bench.workload import (
    VideoInfo,
    busy_overlays,
    frames,
    probe,
    thread_counts,
    threads_label,
)
from nvr.config.ffmpeg import ffmpeg_executable
from nvr.frames import Box, planes
from nvr.render.overlays import JPEG_QUALITY, output_size, render_jpeg

MJPEG_HEIGHT = 360
DEFAULT_MODEL_SIZE = 320
MAX_CLIP_BYTES = 256 << 20
MAX_CROPS = 24
RENDERED_FRAMES = 8


@dataclass(frozen=True)
class Plan:
    """How much a run measures: rounds, seconds per sample, frames decoded and kept."""

    rounds: int
    budget: float
    decoded: int
    clip: int


QUICK = Plan(rounds=3, budget=0.08, decoded=150, clip=100)
FULL = Plan(rounds=9, budget=0.4, decoded=600, clip=150)


def run(inputs: BenchInputs, progress: Progress) -> list[Figure]:
    """Every stage's figures for ``inputs.video``."""
    plan = QUICK if inputs.quick else FULL
    rounds, budget = plan.rounds, plan.budget
    info = probe(inputs.video)
    figures = decode_figures(inputs.video, info, rounds, plan.decoded, progress)
    progress(f"decoding {info.size} frames for the stages")
    count = min(plan.clip, MAX_CLIP_BYTES // frame_size(info.width, info.height))
    clip = frames(inputs.video, info, max(count, 1))
    if not clip:
        raise ValueError(f"ffmpeg decodes no frames from {inputs.video}")
    progress(f"motion detection, {info.size}")
    figure, motion = motion_figure(clip, info, rounds, budget, progress)
    figures.append(figure)
    cases = _region_cases(clip[-len(motion):], motion, info)
    progress("region selection")
    figures.append(regions_figure(cases, info, rounds, budget))
    progress("model input crops")
    size = model_size(inputs)
    figures.append(model_input_figure(cases, info, size, rounds, budget))
    progress("overlays + JPEG")
    figures += overlay_figures(clip, info, rounds, budget)
    return figures


def decode_rate(video: Path, info: VideoInfo, threads: int, count: int) -> float:
    """Frames/s ffmpeg delivers (I420 on a pipe) decoding ``count`` frames with ``threads``
    threads, from its first frame to its last: start-up is left out."""
    size = frame_size(info.width, info.height)
    command = [ffmpeg_executable(), "-v", "error", "-threads", str(threads), "-i", str(video),
               "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:"]
    with subprocess.Popen(command, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as child:
        assert isinstance(child.stdout, io.BufferedReader)
        frame = bytearray(size)  # read into, not allocated per frame
        if child.stdout.readinto(frame) < size:
            raise ValueError(f"ffmpeg decodes no frames from {video}")
        first, delivered = time.perf_counter(), 0
        while child.stdout.readinto(frame) == size:
            delivered += 1
        last = time.perf_counter()
    if delivered == 0:
        raise ValueError(f"{video} has a single frame: decoding cannot be timed")
    return delivered / (last - first)


def decode_figures(video: Path, info: VideoInfo, rounds: int, count: int,
                   progress: Progress) -> list[Figure]:
    """frames/s with 1 thread and with all cores, against the video's own frame rate."""
    if info.fps and info.duration:
        count = max(2, min(count, int(info.fps * info.duration)))
    real_time = Stat.of([info.fps]) if info.fps else None
    figures = []
    for threads in thread_counts():
        progress(f"decode {info.size}, {threads} thread(s)")
        decode_rate(video, info, threads, min(count, 10))  # file in the page cache
        samples = [decode_rate(video, info, threads, count) for _ in range(rounds)]
        figures.append(Figure(
            "decode", f"decode {info.size}, {threads_label(threads)}",
            "frames/s", Stat.of(samples), real_time,
            f"real time ({info.fps:g} fps)" if real_time else None, higher_is_better=True))
    return figures


def _through(detect: Callable[[np.ndarray], object], lumas: list[np.ndarray]) -> Work:
    def work() -> int:
        for luma in lumas:
            detect(luma)
        return len(lumas)

    return work


def motion_figure(clip: list[np.ndarray], info: VideoInfo, rounds: int, budget: float,
                  progress: Progress) -> tuple[Figure, list[list[Box]]]:
    """ms per frame of ``MotionDetector.detect`` (vs OpenCV), and the boxes it found per
    timed frame on its first pass."""
    width, height = info.width, info.height
    lumas = [planes(frame, width, height).y for frame in clip]
    warm_up, timed = lumas[:WARM_UP_FRAMES], lumas[WARM_UP_FRAMES:] or lumas
    frame_height = max(height // 6, 1)
    ours = MotionDetector(width, height, frame_height=frame_height)
    for luma in warm_up:
        ours.detect(luma)
    found = [ours.detect(luma) for luma in timed]
    works = [_through(ours.detect, timed)]
    cv2 = opencv()
    reference_name = None
    if cv2 is None:
        progress("motion: OpenCV is not installed (pip install 'nvr-recorder[bench]'): "
                 "no reference")
    else:
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        theirs = OpenCVMotionDetector(width, height, frame_height=frame_height)
        for luma in [*warm_up, *timed]:
            theirs.detect(luma)
        works.append(_through(theirs.detect, timed))
        reference_name = f"OpenCV {cv2.__version__}, 1 thread"
    try:
        samples = per_unit(works, rounds, budget)
    finally:
        if cv2 is not None:
            cv2.setNumThreads(threads)
    reference = milliseconds(samples[1]) if len(samples) > 1 else None
    return Figure("motion", f"motion {info.size}, frame_height {frame_height}", "ms/frame",
                  milliseconds(samples[0]), reference, reference_name), found


RegionCase = tuple[np.ndarray, list[Box], list[Box]]
"""A frame, its motion boxes and the boxes standing in for its tracked objects."""


def _region_cases(timed: list[np.ndarray], motion: list[list[Box]],
                  info: VideoInfo) -> list[RegionCase]:
    """The frames with motion, each with the previous frame's boxes as tracked objects."""
    cases = [(frame, boxes, motion[index - 1] if index else [])
             for index, (frame, boxes) in enumerate(zip(timed, motion, strict=True)) if boxes]
    if cases:
        return cases
    # No motion in the clip: a person-sized box in the middle of the frame.
    width, height = info.width, info.height
    person = (width * 9 // 20, height // 4, width * 11 // 20, height * 3 // 4)
    return [(timed[len(timed) // 2], [person], [])]


def regions_figure(cases: list[RegionCase], info: VideoInfo, rounds: int,
                   budget: float) -> Figure:
    """ms per frame with motion of ``select_regions`` vs the plain Python twin."""
    width, height = info.width, info.height

    def works(select: Callable[..., object]) -> Work:
        def work() -> int:
            for _, motion, tracked in cases:
                select(motion, tracked, width, height)
            return len(cases)

        return work

    ours, reference = per_unit([works(select_regions), works(python_regions.select_regions)],
                               rounds, budget)
    boxes = sum(len(motion) for _, motion, _ in cases) / len(cases)
    return Figure("regions", f"select_regions {info.size}, {boxes:.1f} motion boxes per frame",
                  "ms/frame", milliseconds(ours), milliseconds(reference), "plain Python")


def model_size(inputs: BenchInputs) -> int:
    """The side of the cpu model's input tensor (DEFAULT_MODEL_SIZE if it cannot load)."""
    from nvr.detection import create_detector

    try:
        width, _ = create_detector("cpu", inputs.model, inputs.labels,
                                   num_threads=1).input_size
    except (ImportError, OSError, ValueError):
        return DEFAULT_MODEL_SIZE
    return width


def model_input_figure(cases: list[RegionCase], info: VideoInfo, size: int, rounds: int,
                       budget: float) -> Figure:
    """ms per region of ``crop_to_tensor`` to a ``size`` square vs NumPy + Pillow."""
    crops = []
    for frame, motion, tracked in cases:
        for region in select_regions(motion, tracked, info.width, info.height):
            crops.append((planes(frame, info.width, info.height), region))
    crops = crops[::max(1, len(crops) // MAX_CROPS)][:MAX_CROPS]
    out = np.empty((size, size, 3), np.uint8)

    def ours() -> int:
        for frame, region in crops:
            crop_to_tensor(*frame, region, out)
        return len(crops)

    def reference() -> int:
        for frame, region in crops:
            numpy_pillow_crop(frame, region, size)
        return len(crops)

    mine, theirs = per_unit([ours, reference], rounds, budget)
    side = sum(region[2] - region[0] for _, region in crops) / len(crops)
    return Figure("model_input", f"crop {info.size} regions (~{side:.0f} px) to {size}x{size}",
                  "ms/region", milliseconds(mine), milliseconds(theirs), "NumPy + Pillow")


def overlay_figures(clip: list[np.ndarray], info: VideoInfo, rounds: int,
                    budget: float) -> list[Figure]:
    """``render_jpeg`` with every overlay, at h=360 (MJPEG) and full size (latest.jpg)."""
    width, height = info.width, info.height
    chosen = clip[::max(1, len(clip) // RENDERED_FRAMES)][:RENDERED_FRAMES]
    overlays = busy_overlays(width, height)
    figures = []
    for out_height, use in ((MJPEG_HEIGHT, "MJPEG"), (None, "latest.jpg")):
        out_w, out_h = output_size(width, height, out_height)
        if out_height is not None and (out_w, out_h) == (width, height):
            continue  # the video is that small already: the full-size figure says it all

        def ours(out_height: int | None = out_height) -> int:
            for frame in chosen:
                render_jpeg(frame, width, height, overlays, out_height, JPEG_QUALITY)
            return len(chosen)

        if (out_w, out_h) == (width, height):
            reference_name = "bare simplejpeg encode, no overlays"

            def reference(out_w: int = out_w, out_h: int = out_h) -> int:
                for frame in chosen:
                    simplejpeg.encode_jpeg_yuv_planes(*planes(frame, width, height),
                                                      quality=JPEG_QUALITY)
                return len(chosen)
        else:
            reference_name = "Pillow BOX resize + simplejpeg encode, no overlays"

            def reference(out_w: int = out_w, out_h: int = out_h) -> int:
                for frame in chosen:
                    simplejpeg.encode_jpeg_yuv_planes(
                        *pillow_resize(planes(frame, width, height), out_w, out_h),
                        quality=JPEG_QUALITY)
                return len(chosen)

        mine, theirs = per_unit([ours, reference], rounds, budget)
        figures.append(Figure("overlays", f"overlays + JPEG {info.size} -> {out_w}x{out_h} "
                              f"({use})", "ms/frame", milliseconds(mine), milliseconds(theirs),
                              reference_name))
    return figures

