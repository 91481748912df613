"""24/7 recordings: filing closed segments by hour, expiring old ones (Frigate 0.8:
docs/compatibility.md#recordings).

The record role of a camera's ffmpeg writes 60 s segments ``<camera>-YYYYMMDDHHMMSS.mp4``
(local start time) at the top of the recordings folder. Every 10 s each closed one is
checked (a complete ``moov`` box, no ffprobe) and moved to ``YYYY-MM/DD/HH/<camera>/MM.SS.mp4``,
the layout Home Assistant browses. At start and about every 10 minutes, filed recordings
whose file mtime is older than their camera's ``record.retain_days`` are deleted (folders
of cameras not in the config are left alone), then empty folders are removed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import trio

from nvr.config import NvrConfig
from nvr.recording.mp4_boxes import top_level_boxes
from nvr.recording.segments import last_written, parse_segment_name
from nvr.tasks import run_every

log = logging.getLogger(__name__)

FILE_INTERVAL_S = 10.0
EXPIRE_INTERVAL_S = 600.0
# The newest segment of a camera is taken as closed once untouched this long: its writer stopped.
CLOSED_AFTER_S = 120.0
DAY_S = 86_400

_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_TWO_DIGITS = re.compile(r"[0-9]{2}")
_FILED = re.compile(r"[0-9]{2}\.[0-9]{2}\.mp4")


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment at the top of the recordings folder, as ffmpeg named it."""

    path: Path
    camera: str
    start: datetime  # local time, naive, from the name
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Recording:
    """A filed recording ``YYYY-MM/DD/HH/<camera>/MM.SS.mp4``."""

    path: Path
    camera: str


def filed_path(folder: Path, camera: str, start: datetime) -> Path:
    """Where a segment of ``camera`` started at local time ``start`` is filed."""
    return folder / f"{start:%Y-%m}" / f"{start:%d}" / f"{start:%H}" / camera / f"{start:%M.%S}.mp4"


def has_moov(path: Path) -> bool:
    """Whether the mp4 file has a complete top-level ``moov`` box (written when it is closed).

    An empty file, or one whose writer was killed before closing it, has none.
    """
    try:
        return "moov" in top_level_boxes(path)
    except OSError:
        return False


def _segments(folder: Path) -> list[Segment]:
    """The segments at the top of ``folder`` (no symlinks, no other names)."""
    segments = []
    with os.scandir(folder) as entries:
        for entry in entries:
            parsed = parse_segment_name(entry.name)
            if parsed is None:
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                mtime_ns = entry.stat(follow_symlinks=False).st_mtime_ns
            except FileNotFoundError:
                continue
            segments.append(Segment(Path(entry.path), parsed[0], parsed[1], mtime_ns))
    return segments


def _closed(segments: list[Segment], writing: bool, now: float) -> list[Segment]:
    """The segments of one camera that no writer has open, oldest first.

    The one :func:`last_written` is open unless ``writing`` is false or it has not changed
    for :data:`CLOSED_AFTER_S`.
    """
    ordered = sorted(segments, key=lambda segment: (segment.start, segment.path.name))
    mtimes = {segment.path: segment.mtime_ns / 1e9 for segment in ordered}
    newest = last_written(mtimes)
    if not writing or newest is None or now - mtimes[newest] >= CLOSED_AFTER_S:
        return ordered
    return [segment for segment in ordered if segment.path != newest]


def _destination(folder: Path, segment: Segment) -> Path | None:
    """A free filed path for ``segment``: its own, else a later second of the same minute.

    Two segments may start at the same local time (clocks set back, DST ending); the second
    one keeps a name Home Assistant can parse. None when the whole minute is taken.
    """
    start = segment.start
    for second in range(start.second, 60):
        path = filed_path(folder, segment.camera, start.replace(second=second))
        if not path.exists():
            return path
    return None


def _file_one(folder: Path, segment: Segment) -> bool:
    """Check and file one closed segment; whether it was filed."""
    name = segment.path.name
    if not has_moov(segment.path):
        log.warning("bad file: %s", name)
        segment.path.unlink(missing_ok=True)
        return False
    destination = _destination(folder, segment)
    if destination is None:
        log.warning("cannot file %s: every name of its minute is taken", name)
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(segment.path, destination)
    return True


def file_recordings(folder: Path, cameras: Collection[str], now: float) -> int:
    """Move every closed segment at the top of ``folder`` to its hour folder (blocking).

    ``cameras`` are those whose ffmpeg may be writing a segment (record enabled): the
    newest segment of each is left alone while it changes. Segments of other cameras are
    all closed. A closed segment without a complete ``moov`` box is logged as
    ``bad file: <name>`` and deleted. Returns how many segments were filed.
    """
    by_camera: dict[str, list[Segment]] = {}
    for segment in _segments(folder):
        by_camera.setdefault(segment.camera, []).append(segment)
    filed = 0
    for camera, segments in sorted(by_camera.items()):
        for segment in _closed(segments, camera in cameras, now):
            try:
                filed += _file_one(folder, segment)
            except FileNotFoundError:
                continue  # gone meanwhile
            except OSError as error:
                log.warning("cannot file %s: %s", segment.path.name, error)
    return filed


def _subfolders(folder: Path, pattern: re.Pattern[str] | None) -> list[Path]:
    """Sub-folders of ``folder`` (not symlinks) whose name matches ``pattern``, sorted."""
    try:
        with os.scandir(folder) as entries:
            found = [Path(entry.path) for entry in entries
                     if (pattern is None or pattern.fullmatch(entry.name))
                     and entry.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found)


def filed_recordings(folder: Path) -> Iterator[Recording]:
    """Filed recordings under ``folder``, oldest first by the time their path names (lazy).

    Only ``YYYY-MM/DD/HH/<camera>/MM.SS.mp4`` regular files: nothing else under the folder,
    and nothing behind a symlink, is ever listed.
    """
    for month in _subfolders(folder, _MONTH):
        for day in _subfolders(month, _TWO_DIGITS):
            for hour in _subfolders(day, _TWO_DIGITS):
                files: list[tuple[str, str, str]] = []
                for camera in _subfolders(hour, None):
                    try:
                        with os.scandir(camera) as entries:
                            files.extend(
                                (entry.name, camera.name, entry.path) for entry in entries
                                if _FILED.fullmatch(entry.name)
                                and entry.is_file(follow_symlinks=False))
                    except FileNotFoundError:
                        continue
                for _, camera_name, path in sorted(files):
                    yield Recording(Path(path), camera_name)


def remove_empty_folders(folder: Path) -> int:
    """Remove the empty folders under ``folder`` (never ``folder`` itself); how many."""
    removed = 0
    for path, _, _ in os.walk(folder, topdown=False):
        if Path(path) == folder:
            continue
        try:
            os.rmdir(path)
        except OSError:
            continue  # not empty, or gone
        removed += 1
    return removed


def expire_recordings(folder: Path, retain_days: Mapping[str, int], now: float) -> int:
    """Delete filed recordings older than their camera's retain days (blocking); how many.

    Age is the file's mtime; the camera is the name of its folder, and folders of cameras
    missing from ``retain_days`` are never expired. Empty folders are removed afterwards.
    """
    deleted = 0
    for recording in filed_recordings(folder):
        days = retain_days.get(recording.camera)
        if days is None:
            continue
        try:
            if recording.path.stat().st_mtime < now - days * DAY_S:
                recording.path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue
        except OSError as error:
            log.warning("cannot expire recording %s: %s", recording.path, error)
    remove_empty_folders(folder)
    if deleted:
        log.info("recordings: expired %d recording(s)", deleted)
    return deleted


async def run_recordings(config: NvrConfig, *, interval: float = FILE_INTERVAL_S,
                         expire_interval: float = EXPIRE_INTERVAL_S) -> None:
    """File closed segments every ``interval`` s, and expire recordings at start and then
    every ``expire_interval`` s, until cancelled; each pass runs in a thread, and a failing
    one is logged and retried (``nvr.tasks.run_every``)."""
    folder = Path(config.media.recordings)
    writing = frozenset(name for name, camera in config.cameras.items() if camera.record.enabled)
    retain = {name: camera.record.retain_days for name, camera in config.cameras.items()}

    async def file_now() -> None:
        await trio.to_thread.run_sync(file_recordings, folder, writing, time.time())

    async def expire_now() -> None:
        await trio.to_thread.run_sync(expire_recordings, folder, retain, time.time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(run_every, "recordings: filing", interval, file_now,
                                   logger=log))
        nursery.start_soon(partial(run_every, "recordings: expiry", expire_interval,
                                   expire_now, logger=log))
