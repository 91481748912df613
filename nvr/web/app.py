"""The Quart-Trio application: error handling and headers shared by every route."""

from __future__ import annotations

from quart import Response, current_app, jsonify, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from nvr.service import Service


def service() -> Service:
    """The running service, for handlers."""
    return current_app.extensions["nvr"]


class ApiError(Exception):
    """Raised by handlers: answered as a JSON error with ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> Response:
    """A JSON error body ``{"success": false, "message": ...}`` with ``status``."""
    response = jsonify({"success": False, "message": message})
    response.status_code = status
    return response


def create_app(running: Service) -> QuartTrio:
    """The app serving ``running``'s API."""
    from nvr.web.api import api
    from nvr.web.events import events
    from nvr.web.live import live
    from nvr.web.media import media

    app = QuartTrio("nvr")
    app.extensions["nvr"] = running
    app.register_blueprint(api)
    app.register_blueprint(live)
    app.register_blueprint(events)
    app.register_blueprint(media)

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.message)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        if error.code == 404:
            return error_response(404, f"Not found: {request.path}")
        return error_response(error.code or 500, error.description or error.name)

    @app.after_request
    async def cache_and_cors_headers(response: Response) -> Response:
        # As the reference's nginx front door does, on successful responses only.
        if response.status_code < 400:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    return app
