"""What one camera costs, and why: detector calls, CPU, memory and events, per way of calling
the detector, on the one-by-one footage played in real time.

One camera (768x432, 5 fps, the SSD on the CPU in one detector thread) reads
`intel_one_by_one_person_detection_768x432.mp4` looped in real time in an in-process service
(capture, motion, detection, tracking, events), for one loop of the clip per window. The ways
(`nvr.bench.strategies`) run in turns, round after round:

- nvr: still objects not searched where only they move, re-checked every second, visits told
  apart;
- previous: nvr's rules up to 5bdf3fd, nearly (every frame with motion searched, objects
  end `max_disappeared` frames after they were last seen);
- baseline: one detector call per frame with motion, on one region holding all of it.

Per camera: detector calls per second, the share that found nothing tracked, CPU seconds per
second of the whole process tree (ffmpeg included, kernel accounting from /proc), PSS, and
the events (true positives) per loop of the clip, which has six visitors.

    python -m benchmarks.bench_camera_cost [--seconds 139.4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
from functools import partial

import trio

from benchmarks.common import shared_file
from nvr.bench.capacity import Settings, Window, empty_share, trial
from nvr.bench.footage import MOTION_WARM_UP
from nvr.bench.model import BenchInputs
from nvr.bench.strategies import STRATEGIES
from nvr.bench.workload import probe

CLIP = "media/intel_one_by_one_person_detection_768x432.mp4"
LOOP_SECONDS = 139.4
WINDOW_OPENS = 47.0  # s into the clip
VISITS_PER_LOOP = 6


def measure(inputs: BenchInputs, strategy: str, seconds: float) -> Window:
    """One window of one camera calling the detector the ``strategy`` way."""
    settings = Settings(windows=(seconds,), warm_up=MOTION_WARM_UP, max_cameras=1,
                        doubling=False, reference_frames=0, reference_rounds=0)
    # Started so that the window opens and closes in the empty stretch after the second
    # visitor (44-50 s into the clip): each visit of a loop is in it once.
    offset = round(WINDOW_OPENS - MOTION_WARM_UP, 1)
    run = partial(trial, inputs, probe(inputs.video), 1, settings, strategy=strategy,
                  offsets=[offset], threads=1)
    [window] = trio.run(run).windows
    return window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=LOOP_SECONDS,
                        help="length of a window (default: one loop of the clip)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help="ways to run, in turns (default: all)")
    args = parser.parse_args()
    inputs = BenchInputs(shared_file(CLIP), shared_file("models/coco_ssd_mobilenet_v1_1.0_"
                                                        "quant_2018_06_29.tflite"),
                         shared_file("models/coco_labels.txt"))
    strategies = args.strategies.split(",")
    windows: dict[str, list[Window]] = {strategy: [] for strategy in strategies}
    for round_number in range(args.rounds):
        for strategy in strategies:
            print(f"round {round_number + 1}/{args.rounds}: {strategy}, {args.seconds:.0f} s",
                  flush=True)
            windows[strategy].append(measure(inputs, strategy, args.seconds))
    loops = args.seconds / LOOP_SECONDS

    def median(strategy: str, value) -> float:
        return statistics.median(value(window) for window in windows[strategy])

    print(f"\none camera, 768x432 5 fps, one-by-one clip in real time ({VISITS_PER_LOOP} "
          f"visitors a loop); medians of {args.rounds} rounds of {args.seconds:.0f} s")
    header = (f"{'way':10} {'calls/s':>8} {'empty':>6} {'CPU s/s':>8} {'PSS MB':>7} "
              f"{'events/loop':>12} {'process fps':>12}  CPU vs baseline")
    print(header)
    print("-" * len(header))
    for strategy in strategies:
        cpu = median(strategy, lambda window: window.cpu)
        versus = ""
        if "baseline" in windows and strategy != "baseline":
            versus = f"{cpu / median('baseline', lambda window: window.cpu):.2f}x"
        process_fps = median(strategy, lambda window: window.frames / args.seconds)
        print(f"{strategy:10} {median(strategy, lambda window: window.calls):8.2f} "
              f"{empty_share(windows[strategy]):5.0f}% {cpu:8.3f} "
              f"{median(strategy, lambda window: window.pss / 1e6):7.0f} "
              f"{median(strategy, lambda window: window.events) / loops:12.1f} "
              f"{process_fps:12.2f}  {versus}")


if __name__ == "__main__":
    main()
