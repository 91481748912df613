"""Files shipped inside the package: the default detector and the demo camera's photo.

Their origins, checksums and licences are in ``PROVENANCE.md`` beside them.
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent

DEFAULT_MODEL = DATA_DIR / "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"
"""SSD MobileNet v1 COCO (uint8, 300x300): the detector used when the config names none."""

DEFAULT_LABELS = DATA_DIR / "coco_labels.txt"
"""The 90 COCO labels of the default model, line index = class id."""

DEMO_IMAGE = DATA_DIR / "grace_hopper.png"
"""A public-domain photo of Grace Hopper, 307x360: the person in the demo camera."""
