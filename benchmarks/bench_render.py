"""latest.jpg and MJPEG frames: overlays + resize + full range + JPEG, against a bare encode.

Real footage scaled by ffmpeg to 1280x720 and 1920x1080. Full size is compared with
simplejpeg encoding the unmodified planes; h=360 with Pillow resizing the planes (BOX, an area
average like ours) and simplejpeg encoding them. The overlay cost is the difference between
rendering with all overlays and with none (timed in alternation; sharp coloured edges also
make the JPEG encoder work harder), and the time spent drawing alone, both as shares of a
bare encode at the output size.

Run: python -m benchmarks.bench_render
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import simplejpeg

from benchmarks.common import Row, print_table, shared_file, timed
from nvr._fast.i420 import frame_size, to_full_range
from nvr.bench.references import pillow_resize
from nvr.bench.workload import busy_overlays
from nvr.capture.decode import decode_file
from nvr.frames import planes
from nvr.render.overlays import Overlays, draw_overlays, output_size, render_jpeg

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"
SIZES = [(1280, 720), (1920, 1080)]
MJPEG_HEIGHT = 360
REPEAT = 11


def real_frame(width: int, height: int) -> np.ndarray:
    """One frame of the footage, scaled by ffmpeg to ``width`` x ``height``, as I420."""
    return decode_file(shared_file(VIDEO), start=20, frames=1, filters=f"scale={width}:{height}")


def paired_cost(busy: Callable[[], object], plain: Callable[[], object],
                pairs: int = 300) -> float:
    """Median extra seconds of ``busy`` over ``plain``, timed in alternation.

    Pairs of back-to-back calls see the same machine load, so their difference holds up
    when other work shares the CPU, where separate medians do not.
    """
    busy(), plain()
    differences = []
    for _ in range(pairs):
        start = time.perf_counter()
        busy()
        middle = time.perf_counter()
        plain()
        differences.append(2 * middle - start - time.perf_counter())
    return statistics.median(differences)


def compare(frame: np.ndarray, width: int, height: int, overlays: Overlays,
            out_height: int | None) -> tuple[list[Row], str]:
    """Rows for rendering with all overlays and with none, and a line on the overlay cost."""
    out_w, out_h = output_size(width, height, out_height)
    source = planes(frame, width, height)
    if out_height is None:
        name, resized = f"{width}x{height} full", source
        baseline_name = "bare encode"

        def baseline() -> object:
            return simplejpeg.encode_jpeg_yuv_planes(*source, quality=70)
    else:
        name, resized = f"{width}x{height} h={out_h}", pillow_resize(source, out_w, out_h)
        baseline_name = "Pillow BOX resize + encode"

        def baseline() -> object:
            return simplejpeg.encode_jpeg_yuv_planes(*pillow_resize(source, out_w, out_h),
                                                     quality=70)
    scratch = np.empty(frame_size(out_w, out_h), np.uint8)
    for plane, values in zip(planes(scratch, out_w, out_h), resized, strict=True):
        plane[:] = values
    target = planes(scratch, out_w, out_h)
    busy, plain, baseline_time, bare, drawing, convert = timed(
        lambda: render_jpeg(frame, width, height, overlays, out_height),
        lambda: render_jpeg(frame, width, height, out_height=out_height),
        baseline,
        lambda: simplejpeg.encode_jpeg_yuv_planes(*resized, quality=70),
        lambda: draw_overlays(target, width, height, overlays),
        lambda: to_full_range(scratch, scratch, out_w, out_h), rounds=REPEAT)
    cost = paired_cost(lambda: render_jpeg(frame, width, height, overlays, out_height),
                       lambda: render_jpeg(frame, width, height, out_height=out_height))
    line = (f"{name:16} {cost * 1e3:6.3f} ms = {cost / bare.median:6.1%}, drawing alone "
            f"{drawing.median * 1e3:6.3f} ms = {drawing.median / bare.median:6.1%} "
            f"| bare encode {bare.median * 1e3:6.3f} ms, "
            f"to_full_range {convert.median * 1e3:6.3f} ms")
    return [Row(f"{name}, all overlays", busy, baseline_time, baseline_name),
            Row(f"{name}, no overlays", plain, baseline_time, baseline_name)], line


def main() -> None:
    rows: list[Row] = []
    costs: list[str] = []
    for width, height in SIZES:
        frame = real_frame(width, height)
        overlays = busy_overlays(width, height)
        for out_height in (None, MJPEG_HEIGHT):
            more_rows, cost = compare(frame, width, height, overlays, out_height)
            rows += more_rows
            costs.append(cost)
    print_table("render_jpeg (overlays, resize, full range, encode) against a bare pipeline",
                rows)
    print("\nOverlay cost: render with all overlays - with none (median over alternating "
          "calls; it includes\nencoding the drawn edges), and drawing alone, as shares of a "
          "bare encode of the output-size planes")
    print("\n".join(costs))


if __name__ == "__main__":
    main()
