"""Detectors from the config: model files, checks at start-up, and one factory per detector.

The factories only describe the detectors: each is called in its worker's thread
(``nvr.detection.workers``), which owns the interpreter it creates.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nvr.config import ConfigError, NvrConfig
from nvr.data import DEFAULT_LABELS, DEFAULT_MODEL
from nvr.detection.backends import ONNX_INSTALL_HINT, create_detector
from nvr.detection.detector import Detector

log = logging.getLogger(__name__)


def detects(config: NvrConfig) -> bool:
    """Whether any camera runs object detection (and so needs a model)."""
    return any(camera.detect.enabled for camera in config.cameras.values())


def _kinds(config: NvrConfig) -> set[str]:
    return {detector.type for detector in config.detectors.values()}


def model_files(config: NvrConfig, source: str = "config") -> tuple[Path, Path]:
    """The model and label files: ``model.path`` and ``model.labelmap_path`` of the config, or
    the default SSD model and COCO labels shipped in the package (``nvr.data``).

    Raises ConfigError for an ``onnx`` detector without both paths: there is no default.
    """
    model, labels = config.model.path, config.model.labelmap_path
    if "onnx" in _kinds(config) and (model is None or labels is None):
        problems = [f"{key}: the onnx detector has no default model; set model.path to a "
                    "YOLOX .onnx file and model.labelmap_path to its labels"
                    for key, value in (("model.path", model), ("model.labelmap_path", labels))
                    if value is None]
        raise ConfigError(source, problems)
    return (Path(model) if model else DEFAULT_MODEL,
            Path(labels) if labels else DEFAULT_LABELS)


def _missing(config: NvrConfig, model: Path, labels: Path) -> list[str]:
    problems = []
    for key, given, path, what in (
            ("model.path", config.model.path, model, "detector model"),
            ("model.labelmap_path", config.model.labelmap_path, labels, "label map")):
        if path.is_file():
            continue
        hint = (f"check {key} (without it nvr uses the default SSD model it ships)" if given
                else "this file ships with nvr: reinstall it")
        problems.append(f"{key}: no {what} at {path}; {hint}")
    return problems


def _missing_backends(config: NvrConfig) -> list[str]:
    """Detectors whose backend library is not installed (it is optional, and looked for only
    when a detector needs it)."""
    onnx = [name for name, detector in config.detectors.items() if detector.type == "onnx"]
    if not onnx:
        return []
    try:
        import onnxruntime  # noqa: F401
    except (ImportError, OSError):  # OSError: installed, but a library of it is missing
        return [f"detectors.{name}.type: onnx needs onnxruntime, which is not installed; "
                f"{ONNX_INSTALL_HINT}" for name in onnx]
    return []


def _input_size(config: NvrConfig, model: Path, labels: Path,
                source: str) -> tuple[int, int]:
    """The tensor size to give the detectors.

    TFLite models take only their own size: ``model.width`` x ``model.height`` when set must
    match it, and when unset the model's own size is used. Without ``model.path`` a size that
    is not the default SSD's (300x300) is the one of Frigate's own default model (320): it is
    ignored with a warning. ONNX models letterbox any size: the configured one.
    """
    size = (config.model.width, config.model.height)
    if "onnx" in _kinds(config):
        return size
    try:
        probe = create_detector("cpu", model, labels, num_threads=1)
    except (ValueError, OSError) as error:
        if "edgetpu" in _kinds(config):
            return size  # an Edge TPU-compiled model loads only with its delegate: checked there
        raise ConfigError(source, [f"model.path: {error}"]) from None
    if not {"width", "height"} & config.model.model_fields_set or probe.input_size == size:
        return probe.input_size
    width, height = probe.input_size
    if config.model.path is None:
        log.warning("model.width/model.height: %dx%d ignored: nvr's default model takes %dx%d "
                    "(set model.path to use a model of another size)", *size, width, height)
        return probe.input_size
    raise ConfigError(source, [
        f"model.width/model.height: {size[0]}x{size[1]}, but {model} takes {width}x{height} "
        f"input; set model.width: {width} and model.height: {height}"])


@dataclass(frozen=True)
class DetectorSetup:
    """One factory per configured detector, and the tensor size they all take."""

    factories: dict[str, Callable[[], Detector]]
    input_size: tuple[int, int]


def detector_setup(config: NvrConfig, source: str = "config") -> DetectorSetup:
    """The detectors of ``detectors``, for a DetectorPool.

    Checks first that the model and label files exist, that the detectors can share the one
    model, and (TFLite) the model's input size; raises ConfigError naming the keys otherwise.
    ``source`` names the config file in the error.
    """
    kinds = _kinds(config)
    if "onnx" in kinds and len(kinds) > 1:
        raise ConfigError(source, ["detectors: onnx and TFLite (cpu, edgetpu) detectors cannot "
                                   "be mixed: they share one model (model.path)"])
    problems = _missing_backends(config)
    if problems:
        raise ConfigError(source, problems)
    model, labels = model_files(config, source)
    problems = _missing(config, model, labels)
    if problems:
        raise ConfigError(source, problems)
    size = _input_size(config, model, labels, source)
    if size[0] != size[1]:
        raise ConfigError(source, [f"model.width/model.height: {size[0]}x{size[1]}: detection "
                                   "regions are square, so the model input must be too"])
    return DetectorSetup({
        name: functools.partial(create_detector, detector.type, model, labels,
                                num_threads=detector.num_threads, device=detector.device,
                                input_size=size)
        for name, detector in config.detectors.items()
    }, size)
