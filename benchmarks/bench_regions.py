"""Region crop to model input, and region selection, against NumPy + Pillow and plain Python.

Frames are real footage upscaled by ffmpeg to 720p and 1080p. "Ours" crops a square region of
the I420 frame straight into the (S, S, 3) RGB tensor; the baseline pads and slices the planes
with NumPy, repeats chroma samples, and lets Pillow convert to RGB (its full-range JPEG
formula: the same work, slightly different colours) and resize bilinearly. When the region is
already the model size, Pillow's resize is a plain copy, so the baseline does no resampling.

Run: python -m benchmarks.bench_regions
"""

from __future__ import annotations

from functools import partial

import numpy as np

from benchmarks.common import Row, print_table, shared_file, timed
from nvr._fast.regions import crop_to_tensor, select_regions
from nvr.bench import python_regions
from nvr.bench.references import numpy_pillow_crop
from nvr.capture.decode import decode_file
from nvr.frames import Box, Planes, planes

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"


def decode(width: int, height: int) -> Planes:
    """One frame of the footage (20 s in), scaled to ``width`` x ``height``."""
    raw = decode_file(shared_file(VIDEO), start=20, frames=1, filters=f"scale={width}:{height}")
    return planes(raw, width, height)


def centred(width: int, height: int, side: int) -> Box:
    x, y = (width - side) // 2, (height - side) // 2
    return (x, y, x + side, y + side)


def crop_rows() -> list[Row]:
    rows = []
    for width, height in [(1280, 720), (1920, 1080)]:
        frame = decode(width, height)
        for side in (300, 600, height):
            region = centred(width, height, side)
            for size in (300, 320):
                out = np.empty((size, size, 3), np.uint8)
                ours, baseline = timed(partial(crop_to_tensor, *frame, region, out),
                                       partial(numpy_pillow_crop, frame, region, size))
                name = f"{height}p region {side} -> {size}"
                rows.append(Row(name, ours, baseline, "NumPy + Pillow"))
    return rows


# A typical busy 720p frame: a person and a car moving, one tracked object near them.
MOTION: list[Box] = [(410, 220, 470, 400), (420, 230, 480, 410), (900, 500, 1100, 600),
                     (60, 40, 90, 70)]
TRACKED: list[Box] = [(400, 210, 480, 420), (700, 100, 760, 200)]


def select_rows() -> list[Row]:
    assert select_regions(MOTION, TRACKED, 1280, 720) == python_regions.select_regions(
        MOTION, TRACKED, 1280, 720)
    ours, baseline = timed(lambda: select_regions(MOTION, TRACKED, 1280, 720),
                           lambda: python_regions.select_regions(MOTION, TRACKED, 1280, 720))
    return [Row("select_regions, 4 motion + 2 tracked", ours, baseline, "plain Python")]


def main() -> None:
    print_table("Region crop + YUV->RGB + resize to the model input (ms per call)", crop_rows())
    print_table("Region selection for one frame (ms per call)", select_rows())


if __name__ == "__main__":
    main()
