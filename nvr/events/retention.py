"""Snapshot retention (reference §11.2, step 1 for snapshots; clips come later).

Every 5 minutes, for each camera and label, snapshots of events that started more than the
retained number of days ago are deleted and the event's ``has_snapshot`` is cleared. The
rows stay: they hold the thumbnail and nvr keeps a row for every true positive.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import trio

from nvr.config import NvrConfig
from nvr.events.media import snapshot_file
from nvr.events.store import EventStore

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 300.0
DAY_S = 86_400


def snapshot_retain_days(config: NvrConfig, camera: str, label: str) -> int:
    """Days a ``label`` snapshot of ``camera`` is kept; the global setting for old cameras."""
    camera_config = config.cameras.get(camera)
    retain = (camera_config.snapshots.retain if camera_config is not None
              else config.snapshots.retain)
    return retain.objects.get(label, retain.default)


def _delete_snapshots(clips: str, camera: str, event_ids: Sequence[str]) -> list[str]:
    """Delete the snapshot files of ``event_ids``; the ids whose file is gone now."""
    gone = []
    for event_id in event_ids:
        path = snapshot_file(clips, camera, event_id)
        if path is not None:
            try:
                path.unlink(missing_ok=True)
            except OSError as error:  # kept flagged: tried again on the next pass
                log.warning("cannot delete snapshot %s: %s", path, error.strerror or error)
                continue
        gone.append(event_id)
    return gone


async def expire_snapshots(config: NvrConfig, store: EventStore, now: float) -> int:
    """One retention pass at time ``now``: how many snapshots were expired."""
    expired = 0
    for camera, label in await store.media_owners("has_snapshot"):
        before = now - snapshot_retain_days(config, camera, label) * DAY_S
        event_ids = await store.expired_media("has_snapshot", camera, label, before)
        if not event_ids:
            continue
        gone = await trio.to_thread.run_sync(
            _delete_snapshots, str(Path(config.media.clips)), camera, event_ids)
        expired += await store.clear_media("has_snapshot", gone)
    if expired:
        log.info("snapshot retention: expired %d snapshot(s)", expired)
    return expired


async def run_retention(config: NvrConfig, store: EventStore, *,
                        interval: float = RETENTION_INTERVAL_S) -> None:
    """Expire snapshots every ``interval`` seconds (the first pass after one interval)."""
    while True:
        await trio.sleep(interval)
        try:
            await expire_snapshots(config, store, time.time())
        except (sqlite3.Error, OSError) as error:
            log.warning("snapshot retention failed, retrying in %.0f s: %s", interval, error)
