"""Helpers for tests: data from ../shared, free ports, a minimal camera, ``nvr run``."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trio

from nvr.config.ffmpeg import ffmpeg_executable, ffmpeg_version

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(relative: str) -> Path:
    """A file from ../shared; missing data fails under CI (CI=true) and skips elsewhere."""
    path = SHARED / relative
    if not path.exists():
        unavailable(f"{path} is missing: tests need ../shared beside the project")
    return path


def unavailable(message: str) -> None:
    """Something a test needs is missing: a failure under CI (CI=true), a skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def ffmpeg_major() -> int:
    """The major version of the ffmpeg the tests run (Debian 12's is 5, the wheel's 9)."""
    version = ffmpeg_version(ffmpeg_executable())
    return int(version.split(".")[0]) if version[:1].isdigit() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MINIMAL_CAMERA = """
cameras:
  back:
    ffmpeg:
      inputs:
        - path: rtsp://127.0.0.1:554/video
          roles: [detect, rtmp]
    width: 1280
    height: 720
    fps: 5
"""


FOOTAGE = "media/intel_one_by_one_person_detection_768x432.mp4"
SSD = "models/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"
SSD_LABELS = "models/coco_labels.txt"
CYCLIST = "media/bgslibrary_highway_cctv_cyclist_320x240.avi"


def camera_yaml(name: str, path: str, input_args: str, width: int = 768,
                height: int = 432) -> str:
    """A detect-only camera block without fps or snapshots (capture tests)."""
    return camera(name, Path(path), input_args, width, height, fps=None, snapshots=False)


def looped_footage(name: str, **size: int) -> str:
    return camera_yaml(name, str(shared_file(FOOTAGE)), "-re -stream_loop -1", **size)


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    with trio.move_on_after(timeout):
        while not condition():
            await trio.sleep(0.05)
        return
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


RTSP_SERVER = Path(__file__).parent / "tools" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"


class RtspServer:
    """The GStreamer RTSP server of tests/tools, serving the footage; can be stopped and
    started again on the same port to simulate a camera dropping out."""

    def __init__(self, footage: Path) -> None:
        self.footage = footage
        self.port = free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/camera"
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port), str(self.footage)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if line.strip() != "ready":
            self._process.wait(10)
            error = self._process.stderr.read() if self._process.stderr else ""
            missing = "GStreamer's RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0)"
            if "ValueError" in error or "ModuleNotFoundError" in error:
                unavailable(f"{missing} is not installed: {error.strip().splitlines()[-1]}")
            raise RuntimeError(f"the RTSP server did not start: {error}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None


# ``nvr run`` as a real process -------------------------------------------------------------

def camera(name: str, path: Path, input_args: str, width: int, height: int,
           extra: str = "", roles: str = "detect", fps: int | None = 5,
           snapshots: bool = True) -> str:
    """A camera of a config's ``cameras:`` block (``extra``: more of its keys)."""
    lines = [f"    fps: {fps}"] if fps is not None else []
    if snapshots:
        lines.append("    snapshots: {enabled: true, bounding_box: true}")
    return f"""
  {name}:
    ffmpeg:
      inputs:
        - path: "{path}"
          input_args: {input_args}
          roles: [{roles}]
    width: {width}
    height: {height}
""" + "".join(f"{line}\n" for line in lines) + extra


def service_config(write_config: Callable[..., Path], cameras: str,
                   blocks: str = "") -> tuple[Path, str]:
    """A config file for ``nvr run`` with the SSD of ../shared, and the service's URL;
    ``blocks``: more top-level blocks."""
    port = free_port()
    path = write_config(f"""{blocks}
web: {{host: 127.0.0.1, port: {port}}}
media: {{clips: media/clips, recordings: media/recordings, cache: media/cache}}
model: {{path: "{shared_file(SSD)}", labelmap_path: "{shared_file('models/coco_labels.txt')}",
         width: 300, height: 300}}
detectors: {{cpu: {{type: cpu, num_threads: 2}}}}
cameras:{cameras}""")
    return path, f"http://127.0.0.1:{port}"


def start(config: Path) -> subprocess.Popen[str]:
    """``nvr run`` on ``config`` as a real process."""
    return subprocess.Popen([sys.executable, "-m", "nvr", "run", "-c", str(config)],
                            cwd=config.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def poll(process: subprocess.Popen[str], condition: Callable[[], bool], timeout: float,
         what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if condition():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"timed out after {timeout} s waiting for {what}:\n{process.communicate()[0]}")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


def events(url: str, **params: str) -> list[dict]:
    response = httpx.get(f"{url}/api/events", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def stored_events(clips: Path, camera: str) -> list[dict]:
    """The camera's ended events, straight from the SQLite file in ``clips`` (none yet)."""
    if not (clips / "frigate.db").exists():
        return []
    with sqlite3.connect(clips / "frigate.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM event WHERE camera = ? AND end_time IS NOT NULL",
                          (camera,)).fetchall()
    return [dict(row) for row in rows]
