"""Serving at the floor: the routes clients poll, MJPEG fan-out and ffmpeg's decode, each
against what the same work costs with nothing around it, measured in the same run.

- JSON routes (`/api/events?has_clip=1&limit=50` and `/api/events/summary?has_clip=1` on
  100 000 events, `/api/stats`, `/api/version`, `/api/config`) and latest.jpg: p50 over
  HTTP from a keep-alive client in another process, against a bare ASGI app on the same
  Hypercorn sending the same bytes (`nvr.bench.floors`);
- MJPEG, the default stream of a 768x432 camera: service CPU with 50 viewers against one,
  and CPU per part sent to each extra viewer against a bare ASGI streamer of the same part;
- ffmpeg: each binary's decode CPU and memory per camera (`nvr.bench.decoders`).

Ours and the floors take turns, round after round (`nvr bench --suite api` runs the same
code, with fewer events and viewers under `--quick`).

    python -m benchmarks.bench_serving [--quick]
"""

from __future__ import annotations

import argparse

from benchmarks.common import SHARED, shared_file
from nvr.bench import api, decoders
from nvr.bench.model import BenchInputs
from nvr.bench.report import print_table

CLIP = "media/intel_one_by_one_person_detection_768x432.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events, viewers, rounds")
    args = parser.parse_args()
    inputs = BenchInputs(shared_file(CLIP), shared_file(
        "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"),
        SHARED / "models/coco_labels.txt", quick=args.quick)
    figures = api.run(inputs, print) + decoders.run(inputs, print)
    print_table(figures)


if __name__ == "__main__":
    main()
