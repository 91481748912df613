"""The web UI: static pages at ``/`` (``nvr/web/ui``) that read only the public API."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, send_from_directory

ASSETS = Path(__file__).parent / "ui"

pages = Blueprint("pages", __name__)


@pages.get("/")
async def index() -> Response:
    return await send_from_directory(ASSETS, "index.html")


@pages.get("/ui/<path:name>")
async def asset(name: str) -> Response:
    """A file of the UI (``send_from_directory`` refuses anything outside ASSETS)."""
    return await send_from_directory(ASSETS, name)
