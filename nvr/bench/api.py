"""The HTTP API of a service served in this process, each figure next to a reference.

One camera reads the video looped in real time (capture only: detection is the capacity
suite's business, and its load would drown the API's cost in noise); the event database
holds ``EVENTS`` events (``nvr.bench.events_data``). The app is served by Hypercorn on
loopback as ``nvr run`` serves it, and requested by a client in another process:

- latest.jpg: request latency, against the bare ``render_jpeg`` call for the same frame;
- MJPEG: the service's CPU seconds per second with many viewers of the default stream,
  against one viewer (one encode per frame should serve them all);
- events: ``/api/events?has_clip=1&limit=50`` and ``/api/events/summary?has_clip=1``,
  against the same query on bare SQLite.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import trio

from nvr.bench.events_data import (
    Case,
    bare_samples,
    events_case,
    fill,
    http_samples,
    summary_case,
)
from nvr.bench.footage import FPS, service_config
from nvr.bench.mjpeg import child_costs
from nvr.bench.model import BenchInputs, Figure, Progress, Stat
from nvr.bench.timing import milliseconds
from nvr.bench.workload import VideoInfo, probe
from nvr.camera import Camera
from nvr.render.overlays import Overlays, render_jpeg
from nvr.service import Service, bind_http, prepare_media_folders, serve_http
from nvr.web.app import create_app

GROUP = "api"
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    """How much an API run measures."""

    events: int  # rows in the event table
    latest_repeat: int  # latest.jpg requests (and bare renders)
    query_repeat: int  # requests of the events list
    summary_repeat: int  # requests of the summary (the slowest query)
    viewers: int  # MJPEG viewers measured against one
    mjpeg_seconds: float  # per MJPEG measurement
    mjpeg_repeat: int


QUICK = Settings(events=20_000, latest_repeat=40, query_repeat=40, summary_repeat=10,
                 viewers=10, mjpeg_seconds=2.0, mjpeg_repeat=2)
FULL = Settings(events=100_000, latest_repeat=200, query_repeat=200, summary_repeat=40,
                viewers=50, mjpeg_seconds=6.0, mjpeg_repeat=3)


def bare_render(camera: Camera, repeat: int) -> list[float]:
    """Seconds per ``render_jpeg`` of the camera's latest frame at full size, no overlays:
    what latest.jpg sends, without the service around it."""
    processed = camera.latest
    assert processed is not None
    frame = processed.frame.retain()
    try:
        def once() -> float:
            start = time.perf_counter()
            render_jpeg(frame.buffer, camera.width, camera.height, Overlays(), None,
                        full_range=frame.full_range)
            return time.perf_counter() - start

        once()
        return [once() for _ in range(repeat)]
    finally:
        frame.release()


def bare_query(database: str, case: Case) -> list[float]:
    """Seconds per run of ``case``'s SQL on a plain sqlite3 connection, rows fetched."""
    connection = sqlite3.connect(database)
    try:
        sql, params = case.sql
        return bare_samples(connection, sql, params, case.repeat).values
    finally:
        connection.close()


async def _measure(inputs: BenchInputs, video: VideoInfo, settings: Settings,
                   progress: Progress) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="nvr-bench-api-") as folder:
        config = service_config(Path(folder), inputs.video, video, inputs.model,
                                inputs.labels, 1, detect=False)
        prepare_media_folders(config, "bench")
        database = config.database.path
        assert database is not None
        progress(f"api: filling {settings.events} events")
        await fill(database, time.time(), settings.events)
        service = Service(config)
        [camera] = service.cameras.values()
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run_pipelines)
            [base, *_] = await nursery.start(serve_http, create_app(service),
                                             bind_http(config.web), config.web)
            with trio.fail_after(STARTUP_TIMEOUT):
                while camera.latest is None:
                    await trio.sleep(0.05)
            figures = await _figures(base, camera, database, settings, progress)
            nursery.cancel_scope.cancel()
    return figures


async def _figures(base: str, camera: Camera, database: str, settings: Settings,
                   progress: Progress) -> list[Figure]:
    rows = f"{settings.events} rows"
    latest = f"/api/{camera.name}/latest.jpg"
    listing = events_case("events", settings.query_repeat, has_clip=1, limit=50)
    summary = summary_case(settings.summary_repeat)
    progress("api: latest.jpg and events queries")
    latest_http, listing_http, summary_http = await http_samples(
        base, [(latest, settings.latest_repeat), (listing.url, listing.repeat),
               (summary.url, summary.repeat)])
    render = bare_render(camera, settings.latest_repeat)
    listing_bare, summary_bare = bare_query(database, listing), bare_query(database, summary)

    stream = f"{base}/api/{camera.name}"  # the default stream: 3 fps, h=360
    progress(f"api: MJPEG, 1 and {settings.viewers} viewers")
    runs = await child_costs(stream, (1, settings.viewers), settings.mjpeg_seconds,
                             settings.mjpeg_repeat)
    costs = {viewers: Stat.of([cost for cost, _ in values]) for viewers, values in runs.items()}

    size = f"{camera.width}x{camera.height}"
    return [
        Figure(GROUP, f"latest.jpg at {size}", "ms", milliseconds(latest_http.values),
               milliseconds(render), "bare render_jpeg"),
        Figure(GROUP, f"MJPEG {settings.viewers} viewers of a {size} {FPS} fps camera",
               "CPU s/s", costs[settings.viewers], costs[1], "1 viewer"),
        Figure(GROUP, f"events has_clip=1 limit=50 at {rows}", "ms",
               milliseconds(listing_http.values), milliseconds(listing_bare), "bare sqlite3"),
        Figure(GROUP, f"events summary has_clip=1 at {rows}", "ms",
               milliseconds(summary_http.values), milliseconds(summary_bare), "bare sqlite3"),
    ]


def run(inputs: BenchInputs, progress: Progress) -> list[Figure]:
    """The API figures: latest.jpg, MJPEG with many viewers, events queries."""
    settings = QUICK if inputs.quick else FULL
    video = probe(inputs.video)
    progress(f"api: serving one {video.size} camera")
    return trio.run(_measure, inputs, video, settings, progress)
