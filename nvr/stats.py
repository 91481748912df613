"""The /api/stats document (Frigate 0.8: docs/compatibility.md#stats)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from nvr.config.schema import NvrConfig
from nvr.files import disk_usage

MB = 1_000_000


def _mount_points() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount, from /proc/mounts."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((fields[1].replace("\\040", " "), fields[2]))
    return mounts


def mount_type(path: str, mounts: list[tuple[str, str]]) -> str:
    """Filesystem type of the longest mount point that contains ``path``."""
    best, kind = "", ""
    for point, fs_type in mounts:
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fs_type
    return kind


def storage(paths: list[str]) -> dict[str, dict[str, Any]]:
    """Total, used and free MB (10^6 bytes, 1 dp) and mount type of each folder."""
    mounts = _mount_points()
    usage = {}
    for path in paths:
        try:
            disk = disk_usage(path)
        except OSError:
            continue
        usage[path] = {
            "total": round(disk.total / MB, 1),
            "used": round(disk.used / MB, 1),
            "free": round(disk.free / MB, 1),
            "mount_type": mount_type(path, mounts),
        }
    return usage


def stats_document(config: NvrConfig, cameras: dict[str, dict[str, Any]], started_at: float,
                   version: str, detectors: dict[str, dict[str, Any]] | None = None,
                   ) -> dict[str, Any]:
    """The stats object: a key per camera, ``detection_fps``, ``detectors``, ``service``.

    ``cameras`` holds each camera's own figures, ``detectors`` those of the running
    detectors (None: not running, all zero). No other top-level key may appear: the Home
    Assistant integration takes every unknown key for a camera.
    """
    if detectors is None:
        pid = os.getpid()
        detectors = {
            name: {"inference_speed": 0.0, "detection_start": 0.0, "pid": pid}
            for name in config.detectors
        }
    media = config.media
    return {
        **cameras,
        "detection_fps": round(sum(camera["detection_fps"] for camera in cameras.values()), 2),
        "detectors": detectors,
        "service": {
            "uptime": int(time.monotonic() - started_at),
            "version": version,
            "storage": storage([media.recordings, media.clips, media.cache]),
        },
    }
