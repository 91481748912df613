"""The ``nvr bench`` command line: its options, the inputs they name, ``--compare``."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from nvr.bench.model import BenchInputs
from nvr.bench.runner import SUITES
from nvr.config import ConfigError, NvrConfig, load_config
from nvr.detection.backends import KINDS

EXIT_USAGE = 2


class UsageError(Exception):
    """The command line names missing or inconsistent inputs (exit code 2, one line)."""


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to ``nvr``'s subparsers."""
    bench = commands.add_parser(
        "bench", help="measure what this machine can do (or --compare two runs)",
        description="Benchmark this machine on real footage and models: decode, motion, "
                    "regions, model input, overlays, detectors, camera capacity and the API; "
                    "writes bench-<time>.json and .png.")
    bench.add_argument("-c", "--config", default=None, metavar="FILE",
                       help="take the model, labels, detector kinds and (when its first "
                            "camera reads a file) the video from this config")
    bench.add_argument("--video", type=Path, metavar="FILE", help="footage to decode and "
                       "process (required unless the config's camera reads a file)")
    bench.add_argument("--model", type=Path, metavar="FILE",
                       help="TFLite SSD model (default: the config's, else the baseline "
                            "SSD shipped with nvr)")
    bench.add_argument("--labels", type=Path, metavar="FILE", help="its labels")
    bench.add_argument("--onnx-model", type=Path, metavar="FILE",
                       help="YOLOX .onnx model for the onnx detector kind")
    bench.add_argument("--onnx-labels", type=Path, metavar="FILE", help="its labels")
    bench.add_argument("--detector", action="append", choices=KINDS, metavar="KIND",
                       help=f"detector kind to measure ({', '.join(KINDS)}); repeatable; "
                            "default: the config's, else cpu (and onnx with --onnx-model)")
    bench.add_argument("--suite", action="append", choices=SUITES, metavar="NAME",
                       help=f"run only this suite ({', '.join(SUITES)}); repeatable")
    bench.add_argument("--quick", action="store_true",
                       help="fewer rounds and frames: a smoke run of about a minute")
    bench.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                       help="folder for the JSON file and the chart (default: .)")
    bench.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"),
                       help="compare two runs' files instead of running")
    return bench


def _config_video(config: NvrConfig) -> Path:
    camera_name, camera = next(iter(config.cameras.items()))
    detect = next(camera_input for camera_input in camera.ffmpeg.inputs
                  if "detect" in camera_input.roles)
    path = Path(detect.path)
    if "://" in detect.path or not path.is_file():
        raise UsageError(f"--video FILE is required: camera {camera_name} of the config reads "
                         f"{detect.path}, not a file")
    return path


def _pair(model: Path | None, labels: Path | None, option: str) -> None:
    if (model is None) != (labels is None):
        raise UsageError(f"--{option}-model and --{option}-labels go together" if option
                         else "--model and --labels go together")


def _check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise UsageError(f"no {what} at {path}")


def inputs_from_args(args: argparse.Namespace) -> BenchInputs:
    """The inputs the options name, completed from ``-c CONFIG`` and the packaged model.

    Raises UsageError (one line) for a missing file or an inconsistent choice, and
    ConfigError for a bad config.
    """
    from nvr.config.ffmpeg import use_ffmpeg
    from nvr.data import DEFAULT_LABELS, DEFAULT_MODEL
    from nvr.detection.setup import model_files

    _pair(args.model, args.labels, "")
    _pair(args.onnx_model, args.onnx_labels, "onnx")
    config = load_config(args.config) if args.config else None
    if config is not None:
        use_ffmpeg(config.ffmpeg.path)  # the config's ffmpeg, as nvr run would use it
    kinds = list(args.detector or [])
    if not kinds and config is not None:
        kinds = sorted({detector.type for detector in config.detectors.values()})
    model, labels = args.model, args.labels
    onnx_model, onnx_labels = args.onnx_model, args.onnx_labels
    if config is not None and "onnx" in kinds and onnx_model is None and config.model.path:
        onnx_model = Path(config.model.path)
        onnx_labels = Path(config.model.labelmap_path) if config.model.labelmap_path else None
    if model is None:
        tflite_config = config if config is not None and "onnx" not in kinds else None
        if tflite_config is not None:
            model, labels = model_files(tflite_config, str(args.config))
        else:
            model, labels = DEFAULT_MODEL, DEFAULT_LABELS
    if not kinds:
        kinds = ["cpu"] + (["onnx"] if onnx_model is not None else [])
    if "onnx" in kinds and (onnx_model is None or onnx_labels is None):
        raise UsageError("the onnx detector needs --onnx-model FILE and --onnx-labels FILE")
    if args.video is not None:
        video = args.video
    elif config is not None:
        video = _config_video(config)
    else:
        raise UsageError("--video FILE is required (footage to decode and process)")
    _check_file(video, "video file")
    _check_file(model, "detector model")
    _check_file(labels, "label file")
    if "onnx" in kinds:
        _check_file(onnx_model, "ONNX model")
        _check_file(onnx_labels, "ONNX label file")
    return BenchInputs(video=video, model=model, labels=labels, detectors=tuple(kinds),
                       onnx_model=onnx_model if "onnx" in kinds else None,
                       onnx_labels=onnx_labels if "onnx" in kinds else None, quick=args.quick)


def compare_files(first: Path, second: Path) -> int:
    """``nvr bench --compare A B``: print how B's figures compare with A's."""
    from nvr.bench.report import BenchFileError, compare, load_json

    try:
        documents = (load_json(first), load_json(second))
    except BenchFileError as error:
        print(f"nvr bench: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        compare(*documents, names=(first.name, second.name))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) has gone: not an error; keep Python quiet at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _check_writable(folder: Path) -> None:
    """Fail now, not after a ten-minute run, if the results cannot be written to ``folder``."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UsageError(f"--out {folder}: cannot write there ({error.strerror})") from None


def main(args: argparse.Namespace) -> int:
    """Run ``nvr bench`` for parsed options; returns the exit code (1 if a suite failed)."""
    if args.compare:
        return compare_files(*args.compare)
    try:
        inputs = inputs_from_args(args)
        _check_writable(args.out)
    except UsageError as error:
        print(f"nvr bench: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_USAGE
    from nvr.bench.runner import run_bench

    document = run_bench(inputs, out_dir=args.out, suites=args.suite)
    return 1 if document["failures"] else 0
