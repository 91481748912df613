"""The segment cache: the closed ffmpeg segments of each camera and their durations.

ffmpeg's segment muxer writes ``<camera>-YYYYMMDDHHMMSS.mp4`` (local start time, 1 s
resolution) one file at a time, so a camera's newest file is the one still being written:
it counts as closed only once a newer one exists or its writer has stopped. Durations are
read from the mp4 index (``moov``/``mvhd``) without ffprobe; ffmpeg itself is only asked
about other containers.
"""

from __future__ import annotations

import logging
import math
import os
import re
import struct
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nvr.config.ffmpeg import ffmpeg_executable
from nvr.files import disk_usage
from nvr.recording.mp4_boxes import iter_boxes, read_moov, top_level_boxes

log = logging.getLogger(__name__)

SEGMENT_FILE = re.compile(r"(?P<camera>.+)-(?P<stamp>[0-9]{14})\.mp4")
# Boxes an ISO-BMFF file may start with: anything else is left to ffmpeg to read.
ISO_BMFF_FIRST_BOXES = frozenset({"ftyp", "styp", "moov", "mdat", "free", "skip", "wide",
                                  "pdin", "uuid", "moof", "sidx"})
FFMPEG_TIMEOUT = 30.0
_DURATION = re.compile(rb"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_UNKNOWN_32, _UNKNOWN_64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


class BadSegment(Exception):
    """A segment file that cannot be read: truncated, never closed, or not a video."""


@dataclass(frozen=True)
class Segment:
    """A closed segment of one camera: its file, start (epoch s) and duration (s)."""

    path: Path
    camera: str
    start: float
    duration: float

    @property
    def end(self) -> float:
        """Epoch second at which the segment ends."""
        return self.start + self.duration


def parse_duration(stderr: bytes) -> float | None:
    """Seconds from the ``Duration: HH:MM:SS.ss`` line of ``ffmpeg -i``; None if absent or N/A."""
    match = _DURATION.search(stderr)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_segment_name(name: str) -> tuple[str, datetime] | None:
    """``(camera, local start)`` of ``<camera>-YYYYMMDDHHMMSS.mp4``, else None.

    The camera is everything before the last ``-`` (camera names may hold dashes); the time
    is local and naive, as ffmpeg's ``-strftime`` writes it.
    """
    match = SEGMENT_FILE.fullmatch(name)
    if match is None:
        return None
    try:
        start = datetime.strptime(match["stamp"], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return match["camera"], start


def last_written(mtimes: Mapping[Path, float]) -> Path | None:
    """The segment file a writer may still have open: the one written last.

    ffmpeg writes one segment of a camera at a time, so every other file is closed. Written
    last means the latest mtime, then the latest name (names alone go back when clocks do).
    Whether the writer is still on that file is the caller's knowledge (it stopped, or the
    file stopped changing). None for no files.
    """
    return max(mtimes, key=lambda path: (mtimes[path], path.name), default=None)


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for found, payload, box_end in iter_boxes(data, start, end):
        if found == kind:
            return payload, box_end
    return None


def _header_duration(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """``(timescale, duration)`` of an ``mvhd`` or ``mdhd`` payload; None if it states none.

    Version/flags (4 bytes); v0: creation, modification (u32), timescale, duration (u32);
    v1: creation, modification (u64), timescale (u32), duration (u64).
    """
    if end - start >= 32 and data[start] == 1:
        timescale, duration = struct.unpack_from(">IQ", data, start + 20)
        unknown = _UNKNOWN_64
    elif end - start >= 20 and data[start] == 0:
        timescale, duration = struct.unpack_from(">II", data, start + 12)
        unknown = _UNKNOWN_32
    else:
        return None
    if timescale == 0 or duration in (0, unknown):
        return None
    return timescale, duration


def _edited_duration(data: bytes, start: int, end: int) -> int | None:
    """Sum of an ``elst`` payload's non-empty edits (movie timescale): what is shown."""
    if end - start < 8:
        return None
    version, count = data[start], struct.unpack_from(">I", data, start + 4)[0]
    entry, layout = (20, ">Qq") if version == 1 else (12, ">Ii")
    if start + 8 + count * entry > end:
        return None
    total = 0
    for index in range(count):
        duration, media_time = struct.unpack_from(layout, data, start + 8 + index * entry)
        if media_time != -1:  # -1: an empty edit, a delay before the track starts
            total += duration
    return total


def _track_duration(moov: bytes, start: int, end: int, movie_timescale: int) -> float | None:
    """Seconds a track shows: its edit list without the empty edits, else its media."""
    edts = _child(moov, start, end, "edts")
    elst = _child(moov, *edts, "elst") if edts is not None else None
    if elst is not None:
        edited = _edited_duration(moov, *elst)
        if edited:
            return edited / movie_timescale
    mdia = _child(moov, start, end, "mdia")
    mdhd = _child(moov, *mdia, "mdhd") if mdia is not None else None
    header = _header_duration(moov, *mdhd) if mdhd is not None else None
    return header[1] / header[0] if header is not None else None


def _moov_duration(moov: bytes) -> float | None:
    """Seconds of the longest track (as ffmpeg states a file's duration), else of the movie
    header; None when neither states one (fragmented mp4, unknown duration)."""
    mvhd = _child(moov, 0, len(moov), "mvhd")
    movie = _header_duration(moov, *mvhd) if mvhd is not None else None
    if movie is None:
        return None
    timescale, duration = movie
    tracks = [_track_duration(moov, start, end, timescale)
              for kind, start, end in iter_boxes(moov) if kind == "trak"]
    return max((seconds for seconds in tracks if seconds), default=duration / timescale)


def _ffmpeg_duration(path: Path) -> float:
    """Seconds as ffmpeg's ``Duration:`` line states them (containers other than mp4)."""
    argv = [ffmpeg_executable(), "-hide_banner", "-nostdin", "-i", f"file:{path}"]
    try:
        result = subprocess.run(argv, capture_output=True, timeout=FFMPEG_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as error:
        raise BadSegment(f"ffmpeg took over {FFMPEG_TIMEOUT:g} s to read it") from error
    duration = parse_duration(result.stderr)
    if duration is None:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise BadSegment(f"ffmpeg finds no duration: {lines[-1] if lines else 'no output'}")
    if duration <= 0:
        raise BadSegment("it holds nothing (zero duration)")
    return duration


def segment_duration(path: Path) -> float:
    """Duration in seconds of a segment file, without ffprobe.

    For mp4 files (the segment muxer writes ``moov`` after ``mdat``) the top-level boxes
    are walked and the index read: the longest track's edit list or media header (what
    ffmpeg reports as the duration), else ``mvhd``. Other containers, and mp4 files whose
    index states no duration, are read by ``ffmpeg -i``. Raises
    :class:`BadSegment` for a truncated, never-closed or unreadable file, and
    ``FileNotFoundError`` if it is gone.
    """
    try:
        moov = read_moov(path)
        if moov is not None:
            duration = _moov_duration(moov)
            return duration if duration is not None else _ffmpeg_duration(path)
        kinds = top_level_boxes(path)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise BadSegment(f"unreadable: {error}") from error
    if kinds and kinds[0] in ISO_BMFF_FIRST_BOXES and "moov" not in kinds:
        raise BadSegment("an mp4 file without a complete moov box (truncated or never closed)")
    return _ffmpeg_duration(path)


def _unlink(path: Path) -> bool:
    """Delete a file; whether it was there to delete (errors are logged, not raised)."""
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError as error:
        log.warning("cannot delete %s: %s", path, error)
        return False


class SegmentCache:
    """The closed segments of one camera in a cache folder.

    :meth:`refresh` and the deleting methods touch the disk: call them in a worker thread.
    The reading methods only look at what is indexed and may be called from anywhere.
    """

    def __init__(self, camera: str, folder: Path | str) -> None:
        self.camera = camera
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._known: dict[Path, Segment] = {}
        self._sizes: dict[Path, int] = {}
        self._stopped_at: float | None = None

    def writer_stopped(self, at: float | None = None) -> None:
        """The camera's writer exited (at epoch ``at``, default now): every file it started
        by then is closed, including the newest. Files started later are not."""
        self._stopped_at = time.time() if at is None else at

    def _files(self) -> dict[Path, float]:
        """This camera's segment files on disk and their starts."""
        found = {}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                parsed = parse_segment_name(entry.name)
                if parsed is not None and parsed[0] == self.camera:
                    found[Path(entry.path)] = parsed[1].timestamp()
        return found

    def _closed(self, files: dict[Path, float]) -> dict[Path, float]:
        newest = last_written({path: _mtime(path) for path in files})
        if newest is None:
            return {}
        stopped_at = self._stopped_at
        if stopped_at is not None and files[newest] <= stopped_at:
            return files
        return {path: start for path, start in files.items() if path != newest}

    def refresh(self) -> list[Segment]:
        """Index the closed files not seen yet and forget those gone (blocking).

        A file that cannot be read is logged as ``bad file: <name>`` and deleted. Returns
        the newly indexed segments.
        """
        files = self._files()
        closed = self._closed(files)
        with self._lock:
            for gone in [path for path in self._known if path not in files]:
                del self._known[gone]
                self._sizes.pop(gone, None)
            new = {path: start for path, start in closed.items() if path not in self._known}
        added = []
        for path, start in sorted(new.items(), key=lambda item: item[0].name):
            try:
                duration = segment_duration(path)
                size = path.stat().st_size
            except FileNotFoundError:
                continue  # deleted meanwhile
            except BadSegment as error:
                log.warning("bad file: %s (%s)", path.name, error)
                _unlink(path)
                continue
            segment = Segment(path, self.camera, start, duration)
            with self._lock:
                self._known[path] = segment
                self._sizes[path] = size
            added.append(segment)
        return added

    @property
    def segments(self) -> list[Segment]:
        """The indexed (closed) segments, oldest first."""
        with self._lock:
            known = list(self._known.values())
        return sorted(known, key=lambda segment: (segment.start, segment.path.name))

    def covering(self, start: float, end: float) -> list[Segment]:
        """The segments overlapping ``[start, end]`` (epoch s), oldest first."""
        return [segment for segment in self.segments
                if segment.end > start and segment.start < end]

    def newest_end(self) -> float | None:
        """Where the closed segments end (epoch s); None when there are none."""
        return max((segment.end for segment in self.segments), default=None)

    def delete(self, segment: Segment) -> int:
        """Forget a segment and delete its file (blocking); the bytes this freed."""
        with self._lock:
            if self._known.pop(segment.path, None) is None:
                return 0
            size = self._sizes.pop(segment.path, 0)
        return size if _unlink(segment.path) else 0

    def trim(self, before: float) -> list[Segment]:
        """Delete the segments that end before epoch ``before`` (blocking); those deleted."""
        doomed = [segment for segment in self.segments if segment.end < before]
        for segment in doomed:
            self.delete(segment)
        return doomed


def _folder_bytes(folder: Path) -> int:
    total = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
    return total


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -math.inf


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


FULL_SHARE = 0.9  # the file system counts as full above this share used (and low free space)


def trim_cache(folder: Path | str, caches: Iterable[SegmentCache], *, max_bytes: int | None,
               min_free_bytes: int, needed_from: Mapping[str, float] | None = None
               ) -> list[Segment]:
    """Keep the cache folder within its limits (blocking; never raises for file problems).

    Over its limits: its files exceed ``max_bytes`` (None: no limit), or its file system is
    more than 90% used with less than ``min_free_bytes`` free (Frigate 0.8:
    docs/compatibility.md#clips). Then the
    oldest closed segments of ``caches`` are deleted, first those that end before
    ``needed_from[camera]`` (what no open event needs; all of a camera not in it), the others
    only as a last resort.
    Open (newest) segments are never deleted. Logs a warning when it deletes; returns what
    it deleted.
    """
    folder = Path(folder)
    try:
        used = _folder_bytes(folder)
        usage = disk_usage(folder)
        free, total = usage.free, usage.total
    except OSError as error:
        log.warning("cache %s: cannot measure it: %s", folder, error)
        return []

    def over() -> bool:
        full = total > 0 and (total - free) > FULL_SHARE * total and free < min_free_bytes
        return (max_bytes is not None and used > max_bytes) or full

    if not over():
        return []
    limits = f"{_mb(used)} used, {_mb(free)} free"
    needed_from = needed_from or {}
    candidates = [(segment.end >= needed_from.get(cache.camera, math.inf), segment.start,
                   segment.path.name, segment, cache)
                  for cache in caches for segment in cache.segments]
    deleted: list[Segment] = []
    for needed, _, _, segment, cache in sorted(candidates, key=lambda item: item[:3]):
        if not over():
            break
        freed = cache.delete(segment)
        used, free = used - freed, free + freed
        deleted.append(segment)
        if needed:
            log.warning("cache %s: deleting %s although an event may need it", folder,
                        segment.path.name)
    if not deleted:
        return deleted  # nothing left to delete: said when it was deleted
    wanted = f"at most {_mb(max_bytes)}, " if max_bytes is not None else ""
    log.warning("cache %s is over its limits (%s; wanted %sat least %s free): deleted the %d "
                "oldest segments: %s", folder, limits, wanted, _mb(min_free_bytes),
                len(deleted), _names(deleted))
    if over():
        log.warning("cache %s is still over its limits: no closed segment left to delete",
                    folder)
    return deleted


def _names(segments: Sequence[Segment]) -> str:
    return ", ".join(segment.path.name for segment in segments) or "none"
