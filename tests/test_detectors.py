"""Detector backends with the real models and photos from ../shared."""

from __future__ import annotations

import ctypes.util
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nvr.detection import Detection, Detector, create_detector, load_labels
from nvr.detection import tflite as tflite_module
from nvr.detection.nms import non_max_suppression
from support import SSD, SSD_LABELS, shared_file

YOLOX = "models/yolox_nano.onnx"
YOLOX_LABELS = "models/coco80_labels.txt"
MODELS = {"cpu": (SSD, SSD_LABELS), "onnx": (YOLOX, YOLOX_LABELS)}

Box = tuple[float, float, float, float]

# Truth boxes in source-image pixels, read off 3-6x zoomed crops of the photos with a 10 px grid
# drawn on them, then checked against both models (SSD gave person [-5, 33, 519, 591], dogs
# [122, 49, 251, 291] and [340, 165, 494, 370]; YOLOX [1, 36, 510, 581], [109, 36, 261, 296]
# and [348, 162, 498, 370]). A truth is an (inner, outer) pair when the extent is ambiguous:
# the left dog's thin tail rises to y=7 (and x=259) above a body whose head starts at y=67;
# both models stop part-way up the tail, so any top edge between the two is right.
GRACE_HOPPER_PERSON = ((12, 23, 512, 600),) * 2  # hat top to the cut-off bottom of the photo
PETS_DOGS = [
    ((107, 67, 246, 293), (107, 7, 259, 293)),  # left (greyhound): body / body and tail
    ((346, 165, 494, 362),) * 2,  # right (Boston terrier): paw, ear tip, shoulder, paws
]


def photo(name: str) -> Image.Image:
    return Image.open(shared_file(f"media/test_images/{name}")).convert("RGB")


def tensor_for(detector: Detector, image: Image.Image) -> np.ndarray:
    """The photo squashed to the detector's input size, as the pipeline's tensor."""
    return np.asarray(image.resize(detector.input_size, Image.BILINEAR))


def in_source_pixels(detection: Detection, detector: Detector, image: Image.Image) -> Box:
    sx, sy = image.width / detector.input_size[0], image.height / detector.input_size[1]
    x1, y1, x2, y2 = detection.box
    return (x1 * sx, y1 * sy, x2 * sx, y2 * sy)


def near(box: Box, truth: tuple[Box, Box], image: Image.Image) -> bool:
    """Every side within 5% of the image size of the truth's range for that side."""
    tolerance = [0.05 * image.width, 0.05 * image.height] * 2
    return all(min(inner, outer) - slack <= side <= max(inner, outer) + slack
               for side, inner, outer, slack in zip(box, *truth, tolerance, strict=True))


def model(kind: str) -> tuple[Path, Path]:
    model_file, labels_file = MODELS[kind]
    return shared_file(model_file), shared_file(labels_file)


@pytest.fixture(scope="module", params=["cpu", "onnx"])
def detector(request: pytest.FixtureRequest) -> Detector:
    return create_detector(request.param, *model(request.param), num_threads=1)


def check_well_formed(detections: list[Detection], floor: float) -> None:
    scores = [detection.score for detection in detections]
    assert scores == sorted(scores, reverse=True)
    assert all(score >= floor for score in scores)


def test_finds_grace_hopper(detector: Detector) -> None:
    image = photo("grace_hopper.bmp")
    detections = detector.detect(tensor_for(detector, image))
    check_well_formed(detections, 0.4)
    people = [d for d in detections if d.label == "person" and d.score >= 0.6]
    assert people, detections
    assert near(in_source_pixels(people[0], detector, image), GRACE_HOPPER_PERSON, image)


def test_finds_both_dogs(detector: Detector) -> None:
    image = photo("pets.jpg")
    detections = detector.detect(tensor_for(detector, image))
    check_well_formed(detections, 0.4)
    dogs = [in_source_pixels(d, detector, image) for d in detections if d.label == "dog"]
    assert len(dogs) == 2, detections
    for truth in PETS_DOGS:
        assert sum(near(dog, truth, image) for dog in dogs) == 1, (truth, dogs)


def test_score_floor_is_an_argument(detector: Detector) -> None:
    tensor = tensor_for(detector, photo("grace_hopper.bmp"))
    default = detector.detect(tensor)
    assert len(default) >= 2
    between = (default[0].score + default[1].score) / 2
    assert detector.detect(tensor, min_score=between) == default[:1]
    everything = detector.detect(tensor, min_score=0.05)
    check_well_formed(everything, 0.05)
    assert len(everything) > len(default)


def test_rejects_a_tensor_of_the_wrong_shape_or_type(detector: Detector) -> None:
    width, height = detector.input_size
    for bad in (np.zeros((height, width + 1, 3), np.uint8), np.zeros((height, width), np.uint8),
                np.zeros((1, height, width, 3), np.uint8),
                np.zeros((height, width, 3), np.float32)):
        with pytest.raises(ValueError, match=rf"\({height}, {width}, 3\)"):
            detector.detect(bad)


def test_model_input_sizes() -> None:
    assert create_detector("cpu", *model("cpu")).input_size == (300, 300)
    assert create_detector("onnx", *model("onnx")).input_size == (416, 416)
    with pytest.raises(ValueError, match="takes 300x300 input, not 320x320"):
        create_detector("cpu", *model("cpu"), input_size=(320, 320))


@pytest.mark.parametrize("size", [(320, 320), (640, 640), (512, 600)])
def test_onnx_letterboxes_other_input_sizes(size: tuple[int, int]) -> None:
    detector = create_detector("onnx", *model("onnx"), num_threads=1, input_size=size)
    assert detector.input_size == size
    image = photo("grace_hopper.bmp")
    people = [d for d in detector.detect(tensor_for(detector, image)) if d.label == "person"]
    assert people and people[0].score >= 0.6
    assert near(in_source_pixels(people[0], detector, image), GRACE_HOPPER_PERSON, image)


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_edgetpu_without_its_library_falls_back_to_cpu(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # A name that cannot exist, so the test holds on a machine with a Coral plugged in too.
    monkeypatch.setattr(tflite_module, "EDGETPU_LIBRARY", "libedgetpu-absent.so.1")
    detector = create_detector("edgetpu", *model("cpu"), device="usb", num_threads=1)
    assert not detector.edgetpu
    [warning] = warnings_logged(caplog)
    assert "Edge TPU 'usb' not available" in warning
    assert "libedgetpu-absent.so.1" in warning and "CPU" in warning
    detections = detector.detect(tensor_for(detector, photo("grace_hopper.bmp")))
    assert detections[0].label == "person"


def test_edgetpu_without_a_device_falls_back_to_cpu(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for an Edge TPU library that loads but finds no device: load_delegate then
    # raises ValueError with a two-line message.
    def no_device(library: str, options: dict[str, str]) -> None:
        raise ValueError(f"Failed to load delegate from {library}\nNo device {options['device']}")

    monkeypatch.setattr(tflite_module, "EDGETPU_LIBRARY", ctypes.util.find_library("c"))
    monkeypatch.setattr(tflite_module, "load_delegate", no_device)
    detector = create_detector("edgetpu", *model("cpu"), device="pci:0", num_threads=1)
    assert not detector.edgetpu
    [warning] = warnings_logged(caplog)
    assert "\n" not in warning and "No device pci:0" in warning
    assert detector.detect(tensor_for(detector, photo("pets.jpg")))[0].label == "dog"


@pytest.mark.parametrize("kind", ["cpu", "edgetpu", "onnx"])
def test_missing_model_file_names_the_path(kind: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.bin"
    with pytest.raises(FileNotFoundError, match=f"detector model file not found: {missing}"):
        create_detector(kind, missing, shared_file(SSD_LABELS))


@pytest.mark.parametrize("kind", ["cpu", "onnx"])
def test_a_file_that_is_no_model_is_refused(kind: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a model")
    with pytest.raises(Exception, match=r"junk\.model"):
        create_detector(kind, junk, shared_file(SSD_LABELS))


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown detector type 'gpu'"):
        create_detector("gpu", shared_file(SSD), shared_file(SSD_LABELS))


def test_plain_label_files_number_lines_and_keep_placeholders() -> None:
    coral = load_labels(shared_file("models/coco_labels.txt"))
    assert len(coral) == 90
    assert (coral[0], coral[2], coral[11], coral[16], coral[89]) == (
        "person", "car", "n/a", "cat", "toothbrush")
    with_background = load_labels(shared_file("models/coco_labelmap_with_background.txt"))
    assert (with_background[0], with_background[1], with_background[90]) == (
        "???", "person", "toothbrush")
    coco80 = load_labels(shared_file("models/coco80_labels.txt"))
    assert len(coco80) == 80 and (coco80[16], coco80[79]) == ("dog", "toothbrush")


def test_numbered_label_files_keep_their_ids(tmp_path: Path) -> None:
    path = tmp_path / "labelmap.txt"
    path.write_text("0  person\n1  bicycle\n\n2  car\n7  car\n 88  teddy bear \n\n")
    assert load_labels(path) == {0: "person", 1: "bicycle", 2: "car", 7: "car", 88: "teddy bear"}


def test_plain_label_files_ignore_trailing_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_text("person\n\nn/a\ncar\n\n\n")
    assert load_labels(path) == {0: "person", 1: "", 2: "n/a", 3: "car"}


def test_numbered_label_file_with_a_repeated_id(tmp_path: Path) -> None:
    path = tmp_path / "labelmap.txt"
    path.write_text("0  person\n0  car\n")
    with pytest.raises(ValueError, match="class id 0 appears twice"):
        load_labels(path)


def test_nms_is_per_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 1, 10, 11], [50, 50, 60, 60]],
                     np.float32)
    scores = np.array([0.5, 0.9, 0.7, 0.6], np.float32)
    classes = np.array([0, 0, 1, 0])
    assert non_max_suppression(boxes, scores, classes, 0.45).tolist() == [1, 2, 3]
    assert non_max_suppression(boxes, scores, np.zeros(4, int), 0.45).tolist() == [1, 3]
