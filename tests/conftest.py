"""Shared fixtures: config files on disk, data from ../shared, a served app on loopback."""

from __future__ import annotations

import functools
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio
from quart_trio import QuartTrio

from nvr.config import NvrConfig, load_config
from nvr.service import Service, bind_http, prepare_media_folders, serve_http
from nvr.web.app import create_app
from support import SSD, SSD_LABELS, shared_file


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file (dedented) into tmp_path and return its path."""

    def write(text: str, name: str = "config.yml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def media_config(write_config: Callable[..., Path], tmp_path: Path) -> Callable[[str], NvrConfig]:
    """Load a config whose media folders live in tmp_path, whose web port is ephemeral and
    whose detector model is the SSD model of ../shared."""

    def load(text: str) -> NvrConfig:
        header = f"""
        web: {{host: 127.0.0.1, port: 0}}
        media: {{clips: {tmp_path}/clips, recordings: {tmp_path}/rec, cache: {tmp_path}/cache}}
        model: {{path: "{shared_file(SSD)}", labelmap_path: "{shared_file(SSD_LABELS)}"}}
        """
        return load_config(write_config(textwrap.dedent(header) + textwrap.dedent(text)), {})

    return load


@dataclass
class Served:
    """A service running in the test's nursery and an HTTP client bound to it."""

    client: httpx.AsyncClient
    service: Service
    app: QuartTrio


@pytest.fixture
async def serve(nursery: trio.Nursery) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """Serve a config's app over loopback (and, with ``cameras=True``, run its cameras)."""
    clients: list[httpx.AsyncClient] = []

    async def start(config: NvrConfig, *, cameras: bool = False) -> Served:
        prepare_media_folders(config, "test")
        service = Service(config)
        await nursery.start(functools.partial(service.run_pipelines, cameras=cameras))
        app = create_app(service)
        urls = await nursery.start(serve_http, app, bind_http(config.web), config.web)
        client = httpx.AsyncClient(base_url=urls[0], timeout=10)
        clients.append(client)
        return Served(client, service, app)

    yield start
    for client in clients:
        await client.aclose()
