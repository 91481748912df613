"""Images of an event from its object's best frame: thumbnail and snapshot (Frigate 0.8:
docs/compatibility.md#object-images)."""

from __future__ import annotations

import trio

from nvr.render.object_image import (
    THUMBNAIL_HEIGHT,
    black_jpeg,
    render_object_image,
    thumbnail_jpeg,
)
from nvr.render.overlays import TrackedBox
from nvr.tracking.objects import BestFrame, TrackedObject

RGB = tuple[int, int, int]


def best_thumbnail(best: BestFrame | None) -> bytes:
    """The event thumbnail (175 px crop), black while the object has no best frame."""
    if best is None:
        return black_jpeg(THUMBNAIL_HEIGHT, THUMBNAIL_HEIGHT)
    return thumbnail_jpeg(best.picture, best.box)


def best_snapshot(best: BestFrame, color: RGB, *, bounding_box: bool, crop: bool,
                  height: int | None, timestamp: bool) -> bytes:
    """The best frame with the snapshot options (docs/compatibility.md#object-images)."""
    detection = TrackedBox(best.label, best.score, best.area, best.box, color, True)
    return render_object_image(best.picture, detection, bounding_box=bounding_box, crop=crop,
                               out_height=height, timestamp=timestamp)


class LiveEvent:
    """An event whose object is still tracked (or not yet written), for the image endpoints."""

    def __init__(self, obj: TrackedObject, color: RGB) -> None:
        self.obj = obj
        self.color = color

    async def thumbnail_jpeg(self) -> bytes:
        return await trio.to_thread.run_sync(best_thumbnail, self.obj.best)

    async def snapshot_jpeg(self, *, height: int | None, bbox: bool, timestamp: bool,
                            crop: bool) -> bytes | None:
        """The snapshot rendered now, or None while the object has no best frame."""
        best = self.obj.best
        if best is None:
            return None
        return await trio.to_thread.run_sync(lambda: best_snapshot(
            best, self.color, bounding_box=bbox, crop=crop, height=height, timestamp=timestamp))
