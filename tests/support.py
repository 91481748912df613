"""Helpers for tests: data from ../shared, free ports, a minimal camera."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(relative: str) -> Path:
    """A file from ../shared; missing data fails under CI (CI=true) and skips elsewhere."""
    path = SHARED / relative
    if not path.exists():
        message = f"{path} is missing: tests need ../shared beside the project"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MINIMAL_CAMERA = """
cameras:
  back:
    ffmpeg:
      inputs:
        - path: rtsp://10.0.0.1:554/video
          roles: [detect, rtmp]
    width: 1280
    height: 720
    fps: 5
"""


FOOTAGE = "media/intel_one_by_one_person_detection_768x432.mp4"


def camera_yaml(name: str, path: str, input_args: str, width: int = 768,
                height: int = 432) -> str:
    return f"""
  {name}:
    ffmpeg:
      inputs:
        - path: "{path}"
          input_args: {input_args}
          roles: [detect]
    width: {width}
    height: {height}
"""


def looped_footage(name: str, **size: int) -> str:
    return camera_yaml(name, str(shared_file(FOOTAGE)), "-re -stream_loop -1", **size)


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    with trio.move_on_after(timeout):
        while not condition():
            await trio.sleep(0.05)
        return
    pytest.fail(f"timed out after {timeout} s waiting for {what}")
