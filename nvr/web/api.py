"""Service routes: health, version, config and stats."""

from __future__ import annotations

import trio
from quart import Blueprint, Response, jsonify

from nvr.config.view import config_view
from nvr.stats import stats_document
from nvr.web.context import service

api = Blueprint("api", __name__, url_prefix="/api")


def text(body: str) -> Response:
    return Response(body, content_type="text/plain; charset=utf-8")


@api.get("/")
async def health() -> Response:
    return text("nvr is running. Alive and healthy!")


@api.get("/version")
async def version() -> Response:
    return text(service().version)


@api.get("/config")
async def config() -> Response:
    return jsonify(config_view(service().config))


@api.get("/stats")
async def stats() -> Response:
    running = service()
    cameras = {name: camera.stats() for name, camera in running.cameras.items()}
    # statvfs can hang on a network share: keep it off the event loop.
    document = await trio.to_thread.run_sync(
        stats_document, running.config, cameras, running.started_at, running.version,
        running.detector_stats(),
    )
    return jsonify(document)
