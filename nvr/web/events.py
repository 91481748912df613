"""Events API: the list, the summary, one event, its thumbnail and its snapshot.

The rows come from ``service().store`` (an :class:`~nvr.events.EventStore`, None while the
service is not running: 503). Events still in progress are not in the list; their
thumbnail and snapshot come from the live tracked object, ``service().tracked_object(id)``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import sqlite3
from pathlib import Path

import trio
from quart import Blueprint, Response, jsonify, request

from nvr.events.media import snapshot_file
from nvr.events.store import DEFAULT_LIMIT, MAX_LIMIT, EventQuery, EventStore
from nvr.render.object_image import android_thumbnail
from nvr.web.context import ApiError, error_response, service
from nvr.web.params import (
    flag_param,
    float_param,
    int_param,
    optional_int_param,
    text_param,
)

log = logging.getLogger(__name__)

events = Blueprint("events", __name__, url_prefix="/api")

THUMBNAIL_FORMATS = ("ios", "android")
MAX_SNAPSHOT_HEIGHT = 2160  # 4K: a live render allocates a frame of this height


def event_store() -> EventStore:
    """The running service's events database, or a 503."""
    store = service().store
    if store is None:
        raise ApiError(503, "The events database is not open")
    return store


@events.errorhandler(sqlite3.Error)
async def database_error(error: sqlite3.Error) -> Response:
    log.error("events database error on %s: %s", request.path, error, exc_info=error)
    return error_response(500, f"Events database error: {error}")


def limit_param() -> int:
    """``limit``: at least 1, default 100, larger values capped at 10000."""
    limit = optional_int_param(request.args, "limit")
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise ApiError(400, f"limit must be at least 1, got {limit}")
    return min(limit, MAX_LIMIT)


@events.get("/events")
async def list_events() -> Response:
    args = request.args
    query = EventQuery(
        camera=text_param(args, "camera"),
        label=text_param(args, "label"),
        zone=text_param(args, "zone"),
        after=float_param(args, "after", None),
        before=float_param(args, "before", None),
        has_clip=optional_int_param(args, "has_clip"),
        has_snapshot=optional_int_param(args, "has_snapshot"),
        include_thumbnails=optional_int_param(args, "include_thumbnails") != 0,
        limit=limit_param(),
    )
    # Written by SQLite in the database thread: 10 000 events with thumbnails are tens of MB.
    return Response(await event_store().events_json(query), content_type="application/json")


@events.get("/events/summary")
async def summary() -> Response:
    args = request.args
    return jsonify(await event_store().summary(optional_int_param(args, "has_clip"),
                                               optional_int_param(args, "has_snapshot")))


@events.get("/events/<event_id>")
async def event(event_id: str) -> Response:
    record = await event_store().get(event_id)
    if record is None:
        raise ApiError(404, "Event not found")
    return jsonify(record.to_json())


def jpeg_response(jpeg: bytes) -> Response:
    return Response(jpeg, content_type="image/jpeg")


@events.get("/events/<event_id>/thumbnail.jpg")
async def thumbnail(event_id: str) -> Response:
    image_format = request.args.get("format") or "ios"
    if image_format not in THUMBNAIL_FORMATS:
        raise ApiError(400, f"format must be ios or android, got {image_format!r}")
    record = await event_store().get(event_id)
    if record is not None:
        try:
            jpeg = base64.b64decode(record.thumbnail, validate=True)
        except binascii.Error:
            jpeg = b""
        if not jpeg:
            raise ApiError(404, "Thumbnail not available")
    else:
        tracked = service().tracked_object(event_id)
        if tracked is None:
            raise ApiError(404, "Event not found")
        jpeg = await tracked.thumbnail_jpeg()
    if image_format == "android":
        try:
            jpeg = await trio.to_thread.run_sync(android_thumbnail, jpeg)
        except ValueError as error:
            raise ApiError(500, f"The thumbnail is not a readable JPEG: {error}") from None
    return jpeg_response(jpeg)


def _read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as error:
        log.error("cannot read the snapshot %s: %s", path, error)
        raise ApiError(503, f"The snapshot cannot be read: {error.strerror}") from None


@events.get("/events/<event_id>/snapshot.jpg")
async def snapshot(event_id: str) -> Response:
    args = request.args
    height = int_param(args, "h", None, low=1, high=MAX_SNAPSHOT_HEIGHT)
    bbox, timestamp, crop = (flag_param(args, name) for name in ("bbox", "timestamp", "crop"))
    running = service()
    record = await event_store().get(event_id)
    if record is not None:
        # A stored snapshot is sent as saved: the query parameters do not apply to it.
        if not record.has_snapshot:
            raise ApiError(404, "Snapshot not available")
        path = snapshot_file(running.config.media.clips, record.camera, record.id)
        jpeg = None if path is None else await trio.to_thread.run_sync(_read_file, path)
    else:
        tracked = running.tracked_object(event_id)
        jpeg = None if tracked is None else await tracked.snapshot_jpeg(
            height=height, bbox=bbox, timestamp=timestamp, crop=crop)
    if jpeg is None:
        raise ApiError(404, "Event not found")
    return jpeg_response(jpeg)
