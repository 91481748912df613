"""Helpers for tests: data from ../shared, free ports, a minimal camera."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

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
