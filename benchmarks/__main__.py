"""``python -m benchmarks [options]``: ``nvr bench`` from a checkout, on ../shared's data.

Without ``-c CONFIG`` (or ``--compare``), the footage and models default to ../shared (or
$NVR_SHARED): the one-by-one clip, the SSD MobileNet model and YOLOX-Nano for the onnx kind.
Options given on the command line win over these defaults.
"""

from __future__ import annotations

import sys

from benchmarks.common import SHARED
from nvr.cli import main as nvr_main

DEFAULTS = {
    "--video": "media/intel_one_by_one_person_detection_768x432.mp4",
    "--model": "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite",
    "--labels": "models/coco_labels.txt",
    "--onnx-model": "models/yolox_nano.onnx",
    "--onnx-labels": "models/coco80_labels.txt",
}


def default_arguments(argv: list[str]) -> list[str]:
    """The ../shared defaults for the options ``argv`` does not give itself."""
    if any(arg in ("-c", "--config", "--compare", "-h", "--help") or
           arg.startswith(("--config=", "--compare=")) for arg in argv):
        return []
    given = {arg.split("=", 1)[0] for arg in argv}
    defaults = []
    for option, relative in DEFAULTS.items():
        if option not in given:
            defaults += [option, str(SHARED / relative)]
    return defaults


def main(argv: list[str] | None = None) -> int:
    """Run ``nvr bench`` with ``argv`` completed by the ../shared defaults."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return nvr_main(["bench", *default_arguments(argv), *argv])


if __name__ == "__main__":
    sys.exit(main())
