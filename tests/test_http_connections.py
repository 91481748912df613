"""Connections to the API end when they should: an idle keep-alive connection after
``web.keep_alive_timeout``, one that asked for ``Connection: close`` after its response, so
that thousands of clients that stay connected cannot exhaust the service's descriptors
(``nvr/web/connections.py``), and that one client cannot take them all."""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trio

from nvr.config import NvrConfig
from nvr.service import raise_open_file_limit
from support import (
    FOOTAGE,
    MINIMAL_CAMERA,
    camera,
    poll,
    service_config,
    shared_file,
    start,
    stop,
    stored_events,
)

REQUEST = b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CLOSE = b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def quick_keep_alive(media_config: Callable[[str], NvrConfig], **web: object) -> NvrConfig:
    config = media_config(MINIMAL_CAMERA)
    return config.model_copy(update={"web": config.web.model_copy(
        update={"keep_alive_timeout": 1.0, **web})})


async def served(serve, config: NvrConfig) -> tuple[str, int]:
    client = (await serve(config)).client
    return client.base_url.host, client.base_url.port


async def ask(host: str, port: int, request: bytes) -> trio.SocketStream:
    """A connection that sent ``request`` and read the whole (200) response."""
    stream = await trio.open_tcp_stream(host, port)
    await stream.send_all(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += await stream.receive_some(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    assert head.startswith(b"HTTP/1.1 200") and length is not None, head
    while len(body) < int(length.group(1)):
        body += await stream.receive_some(65536)
    return stream


async def closed_by_server(stream: trio.SocketStream) -> bool:
    """Whether the server closes ``stream`` (reads until the end; True at EOF)."""
    while True:
        try:
            data = await stream.receive_some(4096)
        except trio.BrokenResourceError:
            return True
        if not data:
            return True


async def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(media_config,
                                                                         serve) -> None:
    host, port = await served(serve, quick_keep_alive(media_config))
    stream = await ask(host, port, REQUEST)
    with trio.fail_after(10):  # keep_alive_timeout is 1 s
        assert await closed_by_server(stream)
    await stream.aclose()


async def test_connection_close_is_honoured(media_config, serve) -> None:
    config = media_config(MINIMAL_CAMERA)  # the default 5 s keep-alive: the close is not it
    host, port = await served(serve, config)
    stream = await ask(host, port, CLOSE)
    with trio.fail_after(3):
        assert await closed_by_server(stream)
    await stream.aclose()


async def test_thousands_of_idle_connections_neither_block_the_api_nor_stay(
        media_config, serve) -> None:
    raise_open_file_limit()
    # (Many clients in practice; here one address, so its cap is raised.)
    host, port = await served(serve, quick_keep_alive(media_config,
                                                      max_connections_per_client=3000))
    before = len(os.listdir("/proc/self/fd"))
    streams = []
    for _ in range(2000):
        streams.append(await ask(host, port, REQUEST))
    # The API answers while they are all connected.
    fresh = await ask(host, port, b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await fresh.aclose()
    with trio.fail_after(30):
        for stream in streams:
            assert await closed_by_server(stream)
    for stream in streams:
        await stream.aclose()
    # The server's ends are closed too: the process holds no more descriptors than before.
    assert len(os.listdir("/proc/self/fd")) <= before + 5


async def test_one_client_cannot_take_every_connection(media_config, serve) -> None:
    host, port = await served(serve, quick_keep_alive(media_config,
                                                      max_connections_per_client=20))
    # The fixture's own client may hold a connection or two; fill what is left.
    streams = []
    refused = None
    for _ in range(25):
        stream = await trio.open_tcp_stream(host, port)
        await stream.send_all(REQUEST)
        first = await stream.receive_some(4096)
        if first.startswith(b"HTTP/1.1 503"):
            refused = first
            break
        streams.append(stream)
    assert refused is not None and len(streams) <= 20
    assert b'"Too many connections; try again later"' in refused
    # Once some leave (the server lets go of them within its keep-alive timeout), new ones
    # are let in.
    for stream in streams[:5]:
        await stream.aclose()
    with trio.fail_after(10):
        while True:
            try:
                again = await ask(host, port, REQUEST)
                break
            except AssertionError:  # still refused
                await trio.sleep(0.2)
    for stream in [again, *streams[5:]]:
        await stream.aclose()


@pytest.mark.slow
def test_a_flood_of_idle_connections_costs_no_event_its_media(
        write_config: Callable[..., Path]) -> None:
    # One person from 74.5 s to 86.5 s of the footage, read at twice real time, while a client
    # keeps as many idle connections open as nvr lets it (more than the cap: some get 503).
    footage = shared_file(FOOTAGE)
    cameras = camera("door", footage, "-readrate 2 -ss 72 -t 20", 768, 432,
                     "    clips: {enabled: true}\n", roles="detect, clips")
    config, url = service_config(write_config, cameras)
    text = config.read_text().replace(
        "web: {host: 127.0.0.1,",
        "web: {max_connections: 1500, max_connections_per_client: 100000, "
        "keep_alive_timeout: 120, host: 127.0.0.1,")  # idle ones stay: the cap must hold
    config.write_text(text)
    port = int(url.rsplit(":", 1)[1])
    raise_open_file_limit()
    process = start(config)
    refused = held = 0
    try:
        poll(process, lambda: httpx.get(f"{url}/api/", timeout=10).status_code == 200, 60,
             "the service")
        flood: list[socket.socket] = []
        deadline = time.monotonic() + 60
        clips = config.parent / "media" / "clips"

        def with_media() -> list[dict]:  # read from the database: the API may be full
            return [event for event in stored_events(clips, "door")
                    if event["has_clip"] and event["has_snapshot"]]

        while time.monotonic() < deadline and not with_media():
            while len(flood) < 2500:  # past the cap of 1500; connected, saying nothing
                flood.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            kept = []
            for sock in flood:  # those refused (503) or closed (idle) are replaced next round
                sock.settimeout(0.001)
                try:
                    data = sock.recv(4096, socket.MSG_PEEK)
                except (TimeoutError, BlockingIOError):
                    kept.append(sock)
                    continue
                refused += data.startswith(b"HTTP/1.1 503")
                sock.close()
            flood = kept
            held = max(held, len(flood))
            # With every connection taken the API answers 503 at once, never hangs.
            assert httpx.get(f"{url}/api/stats", timeout=10).status_code in (200, 503)
            time.sleep(0.5)
        [event] = with_media()[:1]
        for sock in flood:
            sock.close()
    finally:
        output = stop(process)
    assert event["label"] == "person" and refused > 0 and held > 1000
    assert "Too many open files" not in output and "EMFILE" not in output
