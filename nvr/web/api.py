"""Service routes: health, version, config and stats."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from nvr.config.view import config_view
from nvr.log import RECENT_WARNINGS
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
    running = service()
    return jsonify(config_view(running.config, running.redactor, running.switches()))


@api.get("/logs")
async def logs() -> Response:
    """The last warnings and errors of the service's log, oldest first, redacted."""
    return jsonify(list(RECENT_WARNINGS.records))


@api.get("/stats")
async def stats() -> Response:
    return jsonify(await service().stats())
