"""Where an event's media files live: ``<media.clips>/<camera>-<id>.jpg`` (and ``.mp4``)."""

from __future__ import annotations

import re
from pathlib import Path

# ``<frame time>-<6 random characters>`` (see nvr.tracking.tracker.new_object_id).
EVENT_ID_PATTERN = r"[0-9]+(?:\.[0-9]+)?-[a-z0-9]{6}"
CAMERA_NAME_PATTERN = r"[A-Za-z0-9_-]+"
EVENT_FILE_SUFFIXES = (".mp4", ".jpg")

_EVENT_FILE_NAME = re.compile(
    rf"(?P<camera>{CAMERA_NAME_PATTERN})-(?P<id>{EVENT_ID_PATTERN})"
    rf"(?P<suffix>{'|'.join(map(re.escape, EVENT_FILE_SUFFIXES))})"
)


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


def parse_event_file_name(name: str) -> tuple[str, str, str] | None:
    """``(camera, event id, suffix)`` of a clip or snapshot file name, else None.

    Only ``<camera>-<id>.mp4`` and ``<camera>-<id>.jpg`` qualify, with a camera name as the
    config allows and an id as the tracker makes (``1607123955.475377-mxklsc``): never the
    database, its journals, hidden files or anything holding a path separator.
    """
    match = _EVENT_FILE_NAME.fullmatch(name)
    if match is None:
        return None
    return match["camera"], match["id"], match["suffix"]
