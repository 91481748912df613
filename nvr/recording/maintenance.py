"""Keep the segment cache small (Frigate 0.8: docs/compatibility.md#clips): index new segments, drop
old ones."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import trio

from nvr.recording.segments import SegmentCache, trim_cache
from nvr.tasks import run_every

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
    than now minus ``clips.max_seconds``. It reads the cameras' live state, so it is called
    here, on the event loop, never in a worker thread. Each camera's cache and the folder
    are kept in loops of their own: one failing (``nvr.tasks.run_every``) holds up no other.
    """

    async def tidy(cache: SegmentCache) -> None:
        await trio.to_thread.run_sync(cache.refresh)
        keep = keep_from(cache.camera) - KEEP_MARGIN
        await trio.to_thread.run_sync(cache.trim, keep)

    async def trim_folder() -> None:
        # A cache on /tmp may be cleaned away under us: make it again, quietly.
        await trio.to_thread.run_sync(partial(Path(folder).mkdir, parents=True, exist_ok=True))
        needed = {cache.camera: keep_from(cache.camera) - KEEP_MARGIN for cache in caches}
        await trio.to_thread.run_sync(partial(
            trim_cache, folder, caches, max_bytes=max_bytes, min_free_bytes=min_free_bytes,
            needed_from=needed))

    async with trio.open_nursery() as nursery:
        for cache in caches:
            nursery.start_soon(partial(run_every, f"{cache.camera}: cache maintenance", interval,
                                       partial(tidy, cache), logger=log))
        nursery.start_soon(partial(run_every, f"cache {folder}: trimming", interval,
                                   trim_folder, logger=log))
