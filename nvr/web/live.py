"""Live images of a camera: ``latest.jpg`` and the MJPEG debug stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import trio
from quart import Blueprint, Response, current_app, jsonify, request
from quart_trio import QuartTrio

from nvr.camera import Camera
from nvr.render.event_images import best_snapshot
from nvr.render.object_image import black_jpeg
from nvr.render.overlays import output_size
from nvr.web.context import ApiError, service
from nvr.web.mjpeg import DEFAULT_FPS, DEFAULT_HEIGHT, MJPEG_TYPE, MjpegStreams, StreamKey
from nvr.web.params import flag_param, int_param, overlay_flags

live = Blueprint("live", __name__, url_prefix="/api")

MAX_FPS = 30
MJPEG_STREAMS = "nvr.mjpeg"  # the app's MjpegStreams, in app.extensions


def camera_named(name: str) -> Camera:
    """The camera called ``name``, or a 404."""
    camera = service().cameras.get(name)
    if camera is None:
        raise ApiError(404, f"Camera named {name} not found")
    return camera


def height_param(camera: Camera, default: int | None) -> int | None:
    return int_param(request.args, "h", default, low=1, high=4 * camera.height)


@live.get("/<camera_name>/latest.jpg")
async def latest_jpg(camera_name: str) -> Response:
    camera = camera_named(camera_name)
    height = height_param(camera, None)
    jpeg = await camera.live.jpeg(height, overlay_flags(request.args))
    if jpeg is None:
        raise ApiError(503, f"No frame received from camera {camera_name} yet")
    return Response(jpeg, content_type="image/jpeg")


async def _mjpeg_parts(streams: MjpegStreams, nursery: trio.Nursery, camera: Camera,
                       key: StreamKey) -> AsyncIterator[bytes]:
    async with streams.watch(nursery, camera.live, key) as broadcast:
        async for part in broadcast.parts():
            yield part


@live.get("/<camera_name>")
async def mjpeg(camera_name: str) -> Response:
    camera = camera_named(camera_name)
    fps = int_param(request.args, "fps", DEFAULT_FPS, low=1, high=MAX_FPS)
    height = int_param(request.args, "h", min(DEFAULT_HEIGHT, 4 * camera.height), low=1,
                       high=4 * camera.height)
    key = StreamKey(camera_name, height, fps, overlay_flags(request.args))
    app = cast(QuartTrio, current_app)
    response = Response(_mjpeg_parts(app.extensions[MJPEG_STREAMS], app.nursery, camera, key),
                        content_type=MJPEG_TYPE)
    response.timeout = None  # the stream lasts as long as the viewer stays
    return response


@live.get("/<camera_name>/objects")
async def objects(camera_name: str) -> Response:
    """The objects the camera tracks now that are not false positives."""
    camera = camera_named(camera_name)
    return jsonify([obj.as_dict() for obj in camera.processor.objects.objects.values()
                    if not obj.false_positive])


@live.get("/<camera_name>/<label>/best.jpg")
async def best_jpg(camera_name: str, label: str) -> Response:
    """The best image of ``label`` on the camera (black, at the camera's size, if none yet)."""
    camera = camera_named(camera_name)
    height = height_param(camera, None)
    crop = flag_param(request.args, "crop")
    best = camera.processor.best.frames.get(label)
    if best is None:
        size = output_size(camera.width, camera.height, height)
        jpeg = await trio.to_thread.run_sync(black_jpeg, *size)
    else:
        jpeg = await trio.to_thread.run_sync(lambda: best_snapshot(
            best, camera.label_color(label), bounding_box=False, crop=crop, height=height,
            timestamp=False))
    return Response(jpeg, content_type="image/jpeg")
