"""What every route shares: the running service, and how errors are answered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Response, current_app, jsonify

if TYPE_CHECKING:  # the service imports the web app, not the other way round
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
