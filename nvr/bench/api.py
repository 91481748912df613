"""The HTTP API of a service served in this process, each figure next to a reference.

One camera reads the video looped in real time (capture only: detection is the capacity
suite's business, and its load would drown the API's cost in noise); the event database
holds ``EVENTS`` events (``nvr.bench.events_data``). The app is served by Hypercorn on
loopback as ``nvr run`` serves it, and requested by a client in another process:

- latest.jpg: request latency, against the bare ``render_jpeg`` call for the same frame;
- the routes clients poll (the events list and summary Home Assistant asks for, stats,
  version, config): p50 latency against a bare ASGI app on the same Hypercorn sending the
  same bytes (``nvr.bench.floors``); the two event queries also on bare SQLite;
- MJPEG: the service's CPU seconds per second with many viewers of the default stream,
  against one viewer (one encode per frame should serve them all), and the CPU per part
  sent to each extra viewer against a bare ASGI streamer of the same part.

Requests and viewers of ours and of the floors take turns, round after round.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import trio

from nvr.bench.events_data import (
    Case,
    bare_samples,
    events_case,
    fill,
    http_samples,
    summary_case,
)
from nvr.bench.floors import FloorApp
from nvr.bench.footage import FPS, service_config
from nvr.bench.mjpeg import Viewing, child_viewings
from nvr.bench.model import BenchInputs, Figure, Progress, Stat
from nvr.bench.timing import milliseconds
from nvr.bench.workload import VideoInfo, probe
from nvr.camera import Camera
from nvr.render.overlays import OverlayFlags, Overlays, render_jpeg
from nvr.service import Service, bind_http, prepare_media_folders, serve_http
from nvr.web.app import create_app
from nvr.web.mjpeg import DEFAULT_FPS, DEFAULT_HEIGHT, PART_HEAD, PART_TAIL

GROUP = "api"
STARTUP_TIMEOUT = 30.0
FLOOR_NAME = "bare ASGI, same bytes"


@dataclass(frozen=True)
class Settings:
    """How much an API run measures."""

    events: int  # rows in the event table
    latest_repeat: int  # latest.jpg requests (and bare renders)
    query_repeat: int  # requests of each polled JSON route
    viewers: int  # MJPEG viewers measured against one
    mjpeg_seconds: float  # per MJPEG measurement
    mjpeg_repeat: int


QUICK = Settings(events=20_000, latest_repeat=40, query_repeat=40,
                 viewers=20, mjpeg_seconds=3.0, mjpeg_repeat=3)
FULL = Settings(events=100_000, latest_repeat=200, query_repeat=200,
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
            jpeg = await camera.live.jpeg(DEFAULT_HEIGHT, OverlayFlags())
            assert jpeg is not None
            floor = FloorApp(PART_HEAD + jpeg + PART_TAIL)
            floor_web = config.web.model_copy(update={"port": 0})
            [floor_base, *_] = await nursery.start(serve_http, floor, bind_http(floor_web),
                                                   floor_web)
            figures = await _figures(base, floor_base, floor, camera, database, settings,
                                     progress)
            nursery.cancel_scope.cancel()
    return figures


async def _json_figures(base: str, floor_base: str, floor: FloorApp, camera: Camera,
                        database: str, settings: Settings, progress: Progress) -> list[Figure]:
    """The polled routes' p50 against a bare ASGI app sending the same bytes; latest.jpg
    against a bare render; the event queries on bare SQLite."""
    rows = f"{settings.events} rows"
    listing = events_case("events", settings.query_repeat, has_clip=1, limit=50)
    summary = summary_case(settings.query_repeat)
    routes = {
        f"events has_clip=1 limit=50 at {rows}": listing.url,
        f"events summary has_clip=1 at {rows}": summary.url,
        "stats": "/api/stats",
        "version": "/api/version",
        "config": "/api/config",
    }
    async with httpx.AsyncClient(base_url=base) as client:
        answers = {name: await client.get(path) for name, path in routes.items()}
    floors = {name: urljoin(floor_base, floor.add_body(str(index), answer.headers[
        "content-type"], answer.content)) for index, (name, answer) in enumerate(answers.items())}
    latest = f"/api/{camera.name}/latest.jpg"
    progress("api: latest.jpg and the polled JSON routes, against their floors")
    requests = [(latest, settings.latest_repeat)]
    for name, path in routes.items():
        requests += [(path, settings.query_repeat), (floors[name], settings.query_repeat)]
    latest_http, *timed = await http_samples(base, requests)
    # The bare figures run in a thread: the camera's frames keep flowing meanwhile.
    render = await trio.to_thread.run_sync(bare_render, camera, settings.latest_repeat)
    figures = [Figure(GROUP, f"latest.jpg at {camera.width}x{camera.height}", "ms",
                      milliseconds(latest_http.values), milliseconds(render),
                      "bare render_jpeg")]
    for index, name in enumerate(routes):
        ours, bare = timed[2 * index], timed[2 * index + 1]
        figures.append(Figure(GROUP, name, "ms", milliseconds(ours.values),
                              milliseconds(bare.values), FLOOR_NAME))
    for name, case in (("events query on bare sqlite3", listing),
                       ("events summary on bare sqlite3", summary)):
        times = await trio.to_thread.run_sync(bare_query, database, case)
        figures.append(Figure(GROUP, f"{name} at {rows}", "ms", milliseconds(times)))
    return figures


async def _mjpeg_figures(base: str, floor_base: str, camera: Camera, settings: Settings,
                         progress: Progress) -> list[Figure]:
    """The default stream's CPU with many viewers against one, and per part sent to each
    extra viewer against a bare ASGI streamer of the same part."""
    many = settings.viewers
    ours, bare = f"{base}/api/{camera.name}", f"{floor_base}/stream?fps={DEFAULT_FPS}"
    progress(f"api: MJPEG, 1 and {many} viewers, against a bare streamer")
    none, ours_one, ours_many, bare_one, bare_many = await child_viewings(
        [(ours, 0), (ours, 1), (ours, many), (bare, 1), (bare, many)], settings.mjpeg_seconds,
        settings.mjpeg_repeat)

    def per_extra_part(one: list[Viewing], lots: list[Viewing]) -> Stat:
        return Stat.of([(b.cpu - a.cpu) / (b.parts - a.parts) * 1e3
                        for a, b in zip(one, lots, strict=True) if b.parts > a.parts])

    size = f"{camera.width}x{camera.height}"
    return [
        Figure(GROUP, f"MJPEG {many} viewers of a {size} {FPS} fps camera", "CPU s/s",
               Stat.of([run.cpu for run in ours_many]), Stat.of([run.cpu for run in ours_one]),
               "1 viewer"),
        Figure(GROUP, f"MJPEG CPU per part to each of {many} viewers", "ms",
               per_extra_part(ours_one, ours_many), per_extra_part(bare_one, bare_many),
               "bare ASGI streamer"),
        Figure(GROUP, "capture alone (no viewer)", "CPU s/s", Stat.of([run.cpu for run in none])),
    ]


async def _figures(base: str, floor_base: str, floor: FloorApp, camera: Camera, database: str,
                   settings: Settings, progress: Progress) -> list[Figure]:
    return [*await _json_figures(base, floor_base, floor, camera, database, settings, progress),
            *await _mjpeg_figures(base, floor_base, camera, settings, progress)]


def run(inputs: BenchInputs, progress: Progress) -> list[Figure]:
    """The API figures: latest.jpg, MJPEG with many viewers, events queries."""
    settings = QUICK if inputs.quick else FULL
    video = probe(inputs.video)
    progress(f"api: serving one {video.size} camera")
    return trio.run(_measure, inputs, video, settings, progress)
