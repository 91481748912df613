"""Clip and snapshot retention (Frigate 0.8: docs/compatibility.md#retention).

Every 5 minutes, for each camera and label, the clips and (in a loop of their own) the
snapshots of events that started more than the retained number of days ago are deleted and
the event's ``has_clip`` / ``has_snapshot`` is cleared. The rows stay: they hold the
thumbnail and nvr keeps a row for every true positive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio

from nvr.config import NvrConfig
from nvr.config.schema import RetainConfig
from nvr.events.media import event_file
from nvr.events.store import EventStore, MediaFlag
from nvr.tasks import run_every

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 300.0
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class MediaKind:
    """One kind of event media file: its config block, file suffix and database flag."""

    name: str  # "clip" or "snapshot"; also the config block, plural
    suffix: str
    flag: MediaFlag

    def retain(self, config: NvrConfig, camera: str) -> RetainConfig:
        """The retain block of ``camera``; the global one for a camera no longer configured."""
        camera_config = config.cameras.get(camera)
        block = getattr(camera_config if camera_config is not None else config, f"{self.name}s")
        return block.retain


CLIPS = MediaKind("clip", ".mp4", "has_clip")
SNAPSHOTS = MediaKind("snapshot", ".jpg", "has_snapshot")
KINDS = (CLIPS, SNAPSHOTS)


def retain_days(config: NvrConfig, kind: MediaKind, camera: str, label: str) -> int:
    """Days a ``label`` clip or snapshot of ``camera`` is kept."""
    retain = kind.retain(config, camera)
    return retain.objects.get(label, retain.default)


def clip_retain_days(config: NvrConfig, camera: str, label: str) -> int:
    """Days a ``label`` clip of ``camera`` is kept; the global setting for old cameras."""
    return retain_days(config, CLIPS, camera, label)


def snapshot_retain_days(config: NvrConfig, camera: str, label: str) -> int:
    """Days a ``label`` snapshot of ``camera`` is kept; the global setting for old cameras."""
    return retain_days(config, SNAPSHOTS, camera, label)


def delete_media(kind: MediaKind, clips: str | Path, camera: str,
                 event_ids: Sequence[str]) -> list[str]:
    """Delete the ``kind`` files of ``event_ids`` (blocking); the ids whose file is gone now.

    A missing file counts as gone; a file that cannot be deleted keeps its event flagged,
    so that the next pass tries again.
    """
    gone = []
    for event_id in event_ids:
        path = event_file(clips, camera, event_id, kind.suffix)
        if path is not None:
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                log.warning("cannot delete %s %s: %s", kind.name, path, error.strerror or error)
                continue
        gone.append(event_id)
    return gone


async def expire_media(config: NvrConfig, store: EventStore, kind: MediaKind,
                       now: float) -> int:
    """One retention pass over ``kind`` at time ``now``: how many files were expired."""
    expired = 0
    clips = str(Path(config.media.clips))
    for camera, label in await store.media_owners(kind.flag):
        before = now - retain_days(config, kind, camera, label) * DAY_S
        event_ids = await store.expired_media(kind.flag, camera, label, before)
        if not event_ids:
            continue
        gone = await trio.to_thread.run_sync(delete_media, kind, clips, camera, event_ids)
        expired += await store.clear_media(kind.flag, gone)
    if expired:
        log.info("%s retention: expired %d %s(s)", kind.name, expired, kind.name)
    return expired


async def run_retention(config: NvrConfig, store: EventStore, *,
                        interval: float = RETENTION_INTERVAL_S) -> None:
    """Expire clips and snapshots every ``interval`` s (the first time after one interval)
    until cancelled; each kind fails and is retried on its own (``nvr.tasks.run_every``)."""
    async with trio.open_nursery() as nursery:
        for kind in KINDS:
            step = partial(_expire_now, config, store, kind)
            nursery.start_soon(partial(run_every, f"{kind.name} retention", interval, step,
                                       first_after=interval, logger=log))


async def _expire_now(config: NvrConfig, store: EventStore, kind: MediaKind) -> int:
    return await expire_media(config, store, kind, time.time())
