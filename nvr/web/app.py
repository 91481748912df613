"""The Quart-Trio application: error handling and headers shared by every route."""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import astuple
from functools import partial
from typing import TYPE_CHECKING

from quart import Response, has_request_context, has_websocket_context, request, websocket
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from nvr.web.api import api
from nvr.web.context import ApiError, error_response
from nvr.web.events import events
from nvr.web.live import MJPEG_STREAMS, live
from nvr.web.media import media
from nvr.web.mjpeg import MjpegStreams
from nvr.web.pages import pages
from nvr.web.replay import ReplayCache

if TYPE_CHECKING:  # the service imports the web app, not the other way round
    from nvr.service import Service


def create_app(running: Service) -> QuartTrio:
    """The app serving ``running``'s API and the web UI."""
    app = QuartTrio("nvr")
    app.extensions["nvr"] = running
    app.extensions[MJPEG_STREAMS] = MjpegStreams()
    app.register_blueprint(api)
    app.register_blueprint(live)
    app.register_blueprint(events)
    app.register_blueprint(media)
    app.register_blueprint(pages)

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.message)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        if error.code == 404:
            return error_response(404, f"Not found: {_requested_path()}")
        return error_response(error.code or 500, error.description or error.name)

    allowed_origins = frozenset(running.config.web.cors_origins)
    app.asgi_app = ReplayCache(app.asgi_app, {  # type: ignore[method-assign]
        "/api/events": partial(_store_stamp, running),
        "/api/events/summary": partial(_store_stamp, running),
        "/api/version": lambda: running.version,
        # Its figures (uptime in whole seconds, rates over seconds) are rebuilt once a second.
        "/api/stats": lambda: int(time.monotonic() - running.started_at),
        "/api/config": lambda: tuple(astuple(camera.switches)
                                     for camera in running.cameras.values()),
    })

    @app.after_request
    async def cache_and_cors_headers(response: Response) -> Response:
        # No-store as Frigate 0.8's nginx front door sends it, on successful responses only.
        # Cross-origin reads only for the origins the config names (Frigate sent "*").
        if response.status_code < 400:
            response.headers["Cache-Control"] = "no-store"
            origin = request.headers.get("Origin")
            if origin in allowed_origins:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.vary.add("Origin")
        return response

    return app


def _store_stamp(running: Service) -> Hashable:
    """What the events routes' answers depend on: the open store and its generation."""
    store = running.store
    return None if store is None else (store, store.generation)


def _requested_path() -> str:
    """The path asked for, by an HTTP request or a websocket handshake (Frigate 0.8's /ws)."""
    if has_request_context():
        return request.path
    if has_websocket_context():
        return websocket.path
    return "?"
