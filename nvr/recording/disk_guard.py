"""The disk-space guard: keeps free space on the media filesystems above a floor.

The floor of a filesystem is the larger of ``media.min_free_mb`` MiB (at most a fifth of the
filesystem) and ``media.min_free_percent`` % of its size (defaults: 1 GiB and 5 %), i.e. the
guard acts
when free space is below either. It then deletes, oldest first, the filed recordings and
after them the event clips (``<camera>-<id>.mp4``, by the start time in the id; their
``has_clip`` is cleared) on that filesystem until an estimated 10 % of the floor is free
beyond it, or nothing is left. Snapshots, the database, the best images, unfiled segments
and anything else are never touched. Free space is what unprivileged users may use
(``f_bavail``), as ``/api/stats`` reports it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trio

from nvr.config import NvrConfig
from nvr.config.schema import MediaConfig
from nvr.events.media import parse_event_file_name
from nvr.events.store import EventStore
from nvr.files import StatVfs, disk_usage
from nvr.recording.recordings import filed_recordings
from nvr.tasks import run_every

log = logging.getLogger(__name__)

GUARD_INTERVAL_S = 10.0
MIB = 1 << 20
MARGIN = 0.10  # freed beyond the floor, as a fraction of it, so that deletions come in batches



@dataclass(frozen=True, slots=True)
class Volume:
    """One filesystem holding media folders: the recordings and/or clips folder on it."""

    device: int
    path: str  # one of its media folders, for statvfs
    recordings: Path | None
    clips: Path | None


@dataclass(slots=True)
class FreedSpace:
    """What one guard pass deleted."""

    recordings: int = 0
    recording_bytes: int = 0
    clip_ids: list[str] = field(default_factory=list)
    clip_bytes: int = 0

    @property
    def bytes(self) -> int:
        """Bytes freed in all."""
        return self.recording_bytes + self.clip_bytes


SMALL_VOLUME_SHARE = 0.2  # the MiB floor takes at most this share of a filesystem


def free_floor(media: MediaConfig, total: int) -> int:
    """Bytes that must stay free on a filesystem of ``total`` bytes (0: guard off); the MiB
    floor is capped at a fifth of a small filesystem, which it would otherwise empty."""
    fixed = min(media.min_free_mb * MIB, int(total * SMALL_VOLUME_SHARE))
    return max(fixed, int(total * media.min_free_percent / 100))


def volumes(config: NvrConfig) -> list[Volume]:
    """The distinct filesystems of the recordings and clips folders (missing ones skipped)."""
    found: dict[int, Volume] = {}
    for kind in ("recordings", "clips"):
        folder = Path(getattr(config.media, kind))
        try:
            device = folder.stat().st_dev
        except OSError:
            continue
        volume = found.get(device, Volume(device, str(folder), None, None))
        found[device] = Volume(device, volume.path,
                               folder if kind == "recordings" else volume.recordings,
                               folder if kind == "clips" else volume.clips)
    return list(found.values())


def event_clips(clips: Path, database: Path | None = None) -> list[tuple[Path, str]]:
    """Event clips at the top of ``clips`` as (path, event id), oldest event first.

    Only ``<camera>-<id>.mp4`` regular files qualify (never ``database``).
    """
    found = []
    try:
        with os.scandir(clips) as entries:
            for entry in entries:
                parsed = parse_event_file_name(entry.name)
                if parsed is None or parsed[2] != ".mp4":
                    continue
                path = Path(entry.path)
                if database is not None and path == database:
                    continue
                try:
                    if entry.is_file(follow_symlinks=False):
                        found.append((float(parsed[1].split("-", 1)[0]), entry.name, path,
                                      parsed[1]))
                except OSError:
                    continue
    except FileNotFoundError:
        return []
    found.sort()
    return [(path, event_id) for _, _, path, event_id in found]


def _candidates(volume: Volume, database: Path) -> Iterator[tuple[str, Path, str | None]]:
    """What the guard may delete on ``volume``, in order: (kind, path, clip event id)."""
    if volume.recordings is not None:
        for recording in filed_recordings(volume.recordings):
            if recording.path != database:
                yield "recording", recording.path, None
    if volume.clips is not None:
        for path, event_id in event_clips(volume.clips, database):
            yield "clip", path, event_id


def _delete(path: Path) -> int | None:
    """Delete a file; the bytes it held, or None if it could not be deleted (or is gone)."""
    try:
        size = path.lstat().st_blocks * 512
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning("disk guard: cannot delete %s: %s", path, error.strerror or error)
        return None
    return size


def _free_volume(volume: Volume, needed: int, database: Path, freed: FreedSpace) -> int:
    """Delete candidates of ``volume`` until about ``needed`` bytes are freed; bytes freed."""
    done = 0
    batches: dict[str, list[Path]] = {"recording": [], "clip": []}
    sizes = {"recording": 0, "clip": 0}
    for kind, path, event_id in _candidates(volume, database):
        if done >= needed:
            break
        size = _delete(path)
        if size is None:
            continue
        done += size
        batches[kind].append(path)
        sizes[kind] += size
        if event_id is None:
            freed.recordings += 1
            freed.recording_bytes += size
        else:
            freed.clip_ids.append(event_id)
            freed.clip_bytes += size
    for kind, paths in batches.items():
        if paths:
            log.warning("disk guard: deleted %d %s(s), %.1f MiB, oldest first (%s .. %s)",
                        len(paths), kind, sizes[kind] / MIB, paths[0], paths[-1])
    return done


def free_space_pass(config: NvrConfig, *, statvfs: StatVfs = os.statvfs,
                    exhausted: set[str] | None = None) -> FreedSpace:
    """Check each media filesystem and free space on those below the floor (blocking).

    Never raises for a file that vanishes meanwhile; the caller clears ``has_clip`` of the
    returned clip ids. ``exhausted`` holds the filesystems already reported to have nothing
    left to delete: they are not reported again on every pass (other data fills them).
    """
    exhausted = set() if exhausted is None else exhausted
    freed = FreedSpace()
    database = Path(config.database.path) if config.database.path else Path()
    for volume in volumes(config):
        try:
            usage = disk_usage(volume.path, statvfs)
            total, free = usage.total, usage.free
        except OSError as error:
            log.warning("disk guard: cannot read the free space of %s: %s", volume.path, error)
            continue
        floor = free_floor(config.media, total)
        if free >= floor:
            exhausted.discard(volume.path)
            continue
        target = min(total, floor + int(floor * MARGIN))
        done = _free_volume(volume, target - free, database, freed)
        if done == 0 and volume.path in exhausted:
            continue
        log.warning("disk guard: %.1f MiB free on the filesystem of %s, below the floor of "
                    "%.1f MiB: deleted the oldest recordings, then clips (%.1f MiB)",
                    free / MIB, volume.path, floor / MIB, done / MIB)
        if done < target - free:
            exhausted.add(volume.path)
            log.error("disk guard: nothing left to delete on the filesystem of %s "
                      "(%.1f MiB short); said once until it changes",
                      volume.path, (target - free - done) / MIB)
    return freed


async def clear_clip_flags(store: EventStore, event_ids: Iterable[str]) -> int:
    """Clear ``has_clip`` of events whose clip the guard deleted; how many changed."""
    ids = list(event_ids)
    return await store.clear_media("has_clip", ids) if ids else 0


async def guard_pass(config: NvrConfig, store: EventStore, *,
                     statvfs: StatVfs = os.statvfs,
                     exhausted: set[str] | None = None) -> FreedSpace:
    """One guard pass in a thread, then the ``has_clip`` flags of deleted clips cleared."""
    freed = await trio.to_thread.run_sync(
        functools.partial(free_space_pass, config, statvfs=statvfs, exhausted=exhausted))
    await clear_clip_flags(store, freed.clip_ids)
    return freed


async def guard_disk(config: NvrConfig, store: EventStore, *,
                     interval: float = GUARD_INTERVAL_S) -> None:
    """Run :func:`guard_pass` every ``interval`` s until cancelled; a failing pass is logged
    and retried (``nvr.tasks.run_every``).

    Does nothing when both ``media.min_free_mb`` and ``media.min_free_percent`` are 0.
    """
    if config.media.min_free_mb == 0 and config.media.min_free_percent == 0:
        log.info("disk guard: off (media.min_free_mb and media.min_free_percent are 0)")
        return
    await trio.to_thread.run_sync(_warn_about_floors_above_sizes, config)
    step = functools.partial(guard_pass, config, store, exhausted=set())
    await run_every("disk guard", interval, step, logger=log)


def _warn_about_floors_above_sizes(config: NvrConfig) -> None:
    for volume in volumes(config):
        with contextlib.suppress(OSError):
            total = disk_usage(volume.path).total
            if free_floor(config.media, total) >= total:
                log.warning("disk guard: the floor exceeds the size of the filesystem of %s "
                            "(%.1f MiB): every recording and clip on it will be deleted",
                            volume.path, total / MIB)
