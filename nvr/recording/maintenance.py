"""Keep the segment cache small (reference §10.1): index new segments, drop old ones."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import trio

from nvr.recording.segments import SegmentCache, trim_cache

log = logging.getLogger(__name__)

# Segments are kept this long before what the cameras' open events may still need.
KEEP_MARGIN = 90.0


async def maintain_cache(caches: Sequence[SegmentCache], *, keep_from: Callable[[str], float],
                         folder: Path | str, max_bytes: int | None, min_free_bytes: int,
                         interval: float = 10.0) -> None:
    """Every ``interval`` s, for each camera's cache: index its new closed segments and
    delete those ending before ``keep_from(camera) - 90 s``; then keep the cache folder
    within ``max_bytes`` and ``min_free_bytes`` (:func:`trim_cache`).

    ``keep_from`` gives the epoch from which a camera's segments may still go into a clip:
    the earliest start of its open events minus pre-capture, else now, but never earlier
    than now minus ``clips.max_seconds``. Runs until cancelled; errors are logged and the
    next round goes on.
    """
    while True:
        try:
            # A cache on /tmp may be cleaned away under us: make it again, quietly.
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            log.warning("cache %s cannot be created: %s", folder, error)
        for cache in caches:
            try:
                await trio.to_thread.run_sync(cache.refresh)
                keep = keep_from(cache.camera) - KEEP_MARGIN
                await trio.to_thread.run_sync(cache.trim, keep)
            except Exception:
                log.exception("%s: cache maintenance failed", cache.camera)
        try:
            await trio.to_thread.run_sync(partial(
                trim_cache, folder, caches, max_bytes=max_bytes, min_free_bytes=min_free_bytes,
                needed_from=lambda camera: keep_from(camera) - KEEP_MARGIN,
            ))
        except Exception:
            log.exception("cache %s: trimming failed", folder)
        await trio.sleep(interval)
