"""Where an event's media files live: ``<media.clips>/<camera>-<id>.jpg`` (and ``.mp4``)."""

from __future__ import annotations

from pathlib import Path


def event_file(clips: str | Path, camera: str, event_id: str, suffix: str) -> Path | None:
    """``<clips>/<camera>-<event_id><suffix>``, or None if that name would leave ``clips``.

    Camera names and ids come from the database; a name holding a path separator or a NUL
    is refused, so no file outside the clips folder is ever read or deleted.
    """
    name = f"{camera}-{event_id}{suffix}"
    if "/" in name or "\\" in name or "\0" in name:
        return None
    return Path(clips) / name


def snapshot_file(clips: str | Path, camera: str, event_id: str) -> Path | None:
    """The snapshot JPEG of an event (see :func:`event_file`)."""
    return event_file(clips, camera, event_id, ".jpg")
