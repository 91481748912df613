"""Shared fixtures: config files on disk, data from ../shared, a served app on loopback."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import trio

from nvr.config import NvrConfig, load_config
from nvr.service import Service, serve_http
from nvr.web.app import create_app


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
    """Load a config whose media folders live in tmp_path and whose web port is ephemeral."""

    def load(text: str) -> NvrConfig:
        header = f"""
        web: {{host: 127.0.0.1, port: 0}}
        media: {{clips: {tmp_path}/clips, recordings: {tmp_path}/rec, cache: {tmp_path}/cache}}
        """
        return load_config(write_config(textwrap.dedent(header) + textwrap.dedent(text)), {})

    return load


@pytest.fixture
async def serve(nursery: trio.Nursery) -> Callable[[NvrConfig], AsyncIterator[httpx.AsyncClient]]:
    """Serve the app of a config over loopback; returns an httpx client bound to it."""
    clients: list[httpx.AsyncClient] = []

    async def start(config: NvrConfig) -> httpx.AsyncClient:
        for folder in (config.media.clips, config.media.recordings, config.media.cache):
            Path(folder).mkdir(parents=True, exist_ok=True)
        urls = await nursery.start(serve_http, create_app(Service(config)), config.web)
        client = httpx.AsyncClient(base_url=urls[0], timeout=10)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()
