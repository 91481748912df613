"""A plain ``pip install`` (no extras) must run: nothing optional is needed at import.

The optional packages (onnxruntime for the ``onnx`` detector, OpenCV for benchmark references)
are made unimportable in a child interpreter, as they are in a venv without the extras.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from support import MINIMAL_CAMERA, free_port, shared_file

OPTIONAL = ("onnxruntime", "cv2")
BACKEND_OF_AN_EXTRA = "nvr.detection.onnx"  # the onnx extra's backend: imported on demand
NOT_IMPORTED = (BACKEND_OF_AN_EXTRA, "nvr.__main__")  # the latter runs the command line


def without_optional(code: str) -> list[str]:
    """A command running ``code`` where importing an optional package fails (run it outside
    the checkout, whose ``nvr`` folder has no built kernels)."""
    block = "".join(f"sys.modules[{name!r}] = None\n" for name in OPTIONAL)
    return [sys.executable, "-c", f"import sys\n{block}{textwrap.dedent(code)}"]


def test_every_module_imports_without_the_optional_packages(tmp_path: Path) -> None:
    code = f"""
        import importlib, pkgutil, nvr
        failed = []
        for module in pkgutil.walk_packages(nvr.__path__, "nvr."):
            if module.name in {NOT_IMPORTED!r}:
                continue
            try:
                importlib.import_module(module.name)
            except ImportError as error:
                failed.append(f"{{module.name}}: {{error}}")
        print("\\n".join(failed) or "ok")
        """
    result = subprocess.run(without_optional(code), capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    # The check itself bites: the backend of the extra does need it.
    result = subprocess.run(without_optional(f"import {BACKEND_OF_AN_EXTRA}"),
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "import of onnxruntime halted" in result.stderr


def test_an_onnx_detector_without_onnxruntime_is_a_config_error(
        write_config: Callable[..., Path]) -> None:
    path = write_config(f"""
web: {{host: 127.0.0.1, port: {free_port()}}}
media: {{clips: media/clips, recordings: media/recordings, cache: media/cache}}
model: {{path: {shared_file("models/yolox_nano.onnx")},
         labelmap_path: {shared_file("models/coco80_labels.txt")}}}
detectors:
  yolo: {{type: onnx}}
""" + MINIMAL_CAMERA)
    code = f"""
        import runpy
        sys.argv = ["nvr", "run", "-c", {str(path)!r}]
        runpy.run_module("nvr", run_name="__main__")
        """
    result = subprocess.run(without_optional(code), capture_output=True, text=True,
                            timeout=60, cwd=path.parent)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-2:] == [
        f"{path}: 1 problem in the config",
        "  detectors.yolo.type: onnx needs onnxruntime, which is not installed; "
        "pip install 'nvr-recorder[onnx]'",
    ]
    assert "Traceback" not in result.stderr
