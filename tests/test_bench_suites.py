"""The stages and detectors suites of ``nvr bench``, quick mode, on ../shared data."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from nvr.bench import detectors, stages
from nvr.bench.model import BenchInputs, Figure
from nvr.bench.workload import frames, probe
from support import CYCLIST, FOOTAGE, SSD, SSD_LABELS, shared_file

YOLOX = "models/yolox_nano.onnx"
YOLOX_LABELS = "models/coco80_labels.txt"


@pytest.fixture(scope="module")
def inputs() -> BenchInputs:
    onnx_model, onnx_labels = shared_file(YOLOX), shared_file(YOLOX_LABELS)
    return BenchInputs(shared_file(FOOTAGE), shared_file(SSD), shared_file(SSD_LABELS),
                       detectors=("cpu", "edgetpu", "onnx"), onnx_model=onnx_model,
                       onnx_labels=onnx_labels, quick=True)


@pytest.fixture(scope="module")
def stage_figures(inputs: BenchInputs) -> list[Figure]:
    steps: list[str] = []
    figures = stages.run(inputs, steps.append)
    assert steps
    return figures


@pytest.fixture(scope="module")
def detector_figures(inputs: BenchInputs) -> tuple[list[Figure], list[str]]:
    steps: list[str] = []
    return detectors.run(inputs, steps.append), steps


def check(figures: list[Figure]) -> None:
    names = [figure.name for figure in figures]
    assert len(names) == len(set(names)), names
    for figure in figures:
        assert figure.ours.median > 0 and figure.ours.low <= figure.ours.high, figure
        assert figure.ours.runs >= 3, figure
        if figure.reference is not None:
            assert figure.reference.median > 0 and figure.reference_name, figure
            assert figure.ratio is not None and figure.ratio > 0


def test_probe_reads_size_rate_and_duration() -> None:
    info = probe(shared_file(FOOTAGE))
    assert (info.width, info.height, info.fps) == (768, 432, 10.0)
    assert 130 < info.duration < 150


@pytest.mark.slow
def test_stage_figures(stage_figures: list[Figure]) -> None:
    check(stage_figures)
    groups = [figure.group for figure in stage_figures]
    assert set(groups) == {"decode", "motion", "regions", "model_input", "overlays"}
    for figure in stage_figures:
        if figure.group == "decode":
            assert figure.unit == "frames/s" and figure.higher_is_better
            assert figure.reference_name == "real time (10 fps)"
            assert figure.ratio > 1  # any machine decodes 768x432 faster than real time
        else:
            assert figure.unit.startswith("ms/") and not figure.higher_is_better
    expected = {"regions": "plain Python", "model_input": "NumPy + Pillow"}
    for figure in stage_figures:
        if figure.group in expected:
            assert figure.reference_name == expected[figure.group]
        if figure.group == "overlays":
            assert "simplejpeg" in figure.reference_name
    overlays = [figure.name for figure in stage_figures if figure.group == "overlays"]
    assert len(overlays) == 2 and any("640x360" in name for name in overlays)
    motion = next(figure for figure in stage_figures if figure.group == "motion")
    opencv_installed = importlib.util.find_spec("cv2") is not None
    assert (motion.reference is not None) == opencv_installed
    if opencv_installed:
        assert motion.reference_name.startswith("OpenCV")


@pytest.mark.slow
def test_detector_figures(detector_figures: tuple[list[Figure], list[str]],
                          inputs: BenchInputs) -> None:
    figures, steps = detector_figures
    check(figures)
    for figure in figures:
        assert figure.group == "detector" and figure.unit == "inferences/s"
        assert figure.higher_is_better and figure.reference is not None
    kinds = {figure.name.split()[0] for figure in figures}
    assert {"cpu", "onnx"} <= kinds
    assert any(figure.name.startswith("cpu DetectorPool worker, 1 thread") for figure in figures)
    assert any(figure.name.startswith("cpu detect, 1 thread") for figure in figures)
    if "edgetpu" not in kinds:
        assert any(step.startswith("detector edgetpu skipped") for step in steps)


def test_active_delegates_describe_every_kind(inputs: BenchInputs) -> None:
    described = detectors.active_delegates(inputs)
    assert set(described) == {"cpu", "edgetpu", "onnx"}
    assert "XNNPACK" in described["cpu"] and "onnxruntime" in described["onnx"]


def test_detectors_skip_onnx_without_a_model(inputs: BenchInputs) -> None:
    plain = BenchInputs(inputs.video, inputs.model, inputs.labels, detectors=("onnx",),
                        quick=True)
    steps: list[str] = []
    assert detectors.run(plain, steps.append) == []
    assert steps == ["detector onnx skipped: no ONNX model (and labels) given"]
    assert detectors.active_delegates(plain)["onnx"].startswith("unavailable")


def test_overlay_figures_of_a_small_video() -> None:
    """A 240-high video is scaled up for the MJPEG stream; latest.jpg keeps its size."""
    video = shared_file(CYCLIST)
    info = probe(video)
    assert (info.width, info.height) == (320, 240)
    mjpeg, latest = stages.overlay_figures(frames(video, info, 4), info, 3, 0.01)
    assert mjpeg.name == "overlays + JPEG 320x240 -> 480x360 (MJPEG)"
    assert mjpeg.reference_name == "Pillow BOX resize + simplejpeg encode, no overlays"
    assert latest.name == "overlays + JPEG 320x240 -> 320x240 (latest.jpg)"
    assert latest.reference_name == "bare simplejpeg encode, no overlays"


def test_motion_without_opencv_has_no_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain ``pip install nvr`` has no OpenCV: the motion figure stands alone, with a note."""
    monkeypatch.setattr(stages, "opencv", lambda: None)
    video = shared_file(FOOTAGE)
    info = probe(video)
    steps: list[str] = []
    figure, found = stages.motion_figure(frames(video, info, 40), info, 3, 0.01, steps.append)
    assert figure.reference is None and figure.reference_name is None
    assert figure.ours.median > 0 and len(found) == 10
    assert any("OpenCV is not installed" in step for step in steps)
