"""The events API on 100 000 events: Home Assistant's queries over HTTP against bare SQLite.

A temporary database is filled with 100 000 events (4 cameras, 5 labels, zones, ~1.5 KB
base64 thumbnails, start times over 60 days, half with clips). For each query the
integration sends (home-assistant-client.md §2.4-§2.5), the full HTTP request over loopback
to the served app (Hypercorn + Quart-Trio in Trio, as the service runs it; the client is a
keep-alive ``http.client`` in another process) is timed against the same filter run as SQL on
a plain ``sqlite3`` connection with the rows fetched into Python. The ratio HTTP / bare is the
overhead of the database thread hand-off, JSON and HTTP.

Run: python -m benchmarks.bench_events
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import textwrap
import time
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import simplejpeg
import trio
from PIL import Image

from benchmarks.common import Row, Timing, print_table
from nvr.config import load_config
from nvr.events import EventQuery, EventRecord, EventStore
from nvr.events.store import events_sql, summary_sql
from nvr.service import Service, prepare_media_folders, serve_http
from nvr.web.app import create_app

EVENTS = 100_000
DAYS = 60
CAMERAS = {
    "front_door": [(), ("porch",), ("driveway",), ("porch", "driveway"), ("street",)],
    "backyard": [(), ("lawn",), ("patio",), ("lawn", "patio")],
    "garage": [(), ("driveway",), ("garage_door",)],
    "side_gate": [(), ("gate",), ("path",), ("gate", "path")],
}
LABELS = [("person", 0.5), ("car", 0.25), ("dog", 0.1), ("cat", 0.1), ("bicycle", 0.05)]
RARE_ZONE = "shed"  # 1 in 1 000 events
SMALL_REPEAT, LARGE_REPEAT = 200, 25
WARM_UP = 3
ROOT = Path(__file__).resolve().parents[1]


def thumbnails(count: int = 8) -> list[str]:
    """Distinct base64 JPEGs of about 1.5 KB (smooth 80 px images at q60)."""
    rng = np.random.default_rng(1)
    result = []
    for _ in range(count):
        grid = Image.fromarray(rng.integers(0, 256, (4, 4, 3)).astype(np.uint8))
        image = np.asarray(grid.resize((80, 80), Image.Resampling.BICUBIC))
        jpeg = simplejpeg.encode_jpeg(np.ascontiguousarray(image), quality=60,
                                      colorspace="RGB", colorsubsampling="420")
        result.append(b64encode(jpeg).decode("ascii"))
    return result


def make_events(now: float) -> list[EventRecord]:
    """EVENTS events in start-time order, as the service would have written them."""
    rng = random.Random(7)
    images = thumbnails()
    labels, weights = zip(*LABELS, strict=True)
    starts = sorted(now - rng.random() * DAYS * 86_400 for _ in range(EVENTS))
    events = []
    for index, start in enumerate(starts):
        camera = rng.choice(list(CAMERAS))
        zones = rng.choice(CAMERAS[camera])
        if index % 1_000 == 5:
            camera, zones = "backyard", (RARE_ZONE,)
        end = start + rng.uniform(3, 90)
        events.append(EventRecord(
            id=f"{start:.6f}-{index:06x}", camera=camera,
            label=rng.choices(labels, weights)[0], start_time=start, end_time=end,
            top_score=round(rng.uniform(0.6, 0.99), 4), false_positive=False, zones=zones,
            thumbnail=images[index % len(images)], has_clip=rng.random() < 0.5,
            has_snapshot=rng.random() < 0.6, last_seen=end,
        ))
    return events


def local_midnight(epoch: float, days: int = 0) -> int:
    day = time.localtime(epoch)
    return int(time.mktime((day.tm_year, day.tm_mon, day.tm_mday + days, 0, 0, 0, 0, 0, -1)))


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    sql: tuple[str, list[object]]
    repeat: int


def cases(now: float) -> list[Case]:
    day = now - 30 * 86_400
    after, before = local_midnight(day), local_midnight(day, 1)

    def events(name: str, repeat: int = SMALL_REPEAT, **params: object) -> Case:
        query = "&".join(f"{key}={value}" for key, value in params.items())
        limit = int(params.pop("limit", 100))
        return Case(name, f"/api/events?{query}",
                    events_sql(EventQuery(**params, limit=limit)), repeat)

    return [
        Case("summary has_clip=1", "/api/events/summary?has_clip=1", summary_sql(1), 40),
        events("events has_clip=1 limit=50", has_clip=1, limit=50),
        events("camera drill-down", camera="garage", has_clip=1, limit=50),
        events("camera+label drill-down", camera="front_door", label="dog", has_clip=1,
               limit=50),
        events("camera+label+zone drill-down", camera="front_door", label="person",
               zone="porch", has_clip=1, limit=50),
        events("rare zone drill-down", camera="backyard", label="person", zone=RARE_ZONE,
               has_clip=1, limit=50),
        events("zone drill-down", zone="driveway", has_clip=1, limit=50),
        events("one day (after/before)", after=after, before=before, has_clip=1, limit=50),
        events("All folder has_clip=1 limit=10000", LARGE_REPEAT, has_clip=1, limit=10_000),
    ]


@dataclass(frozen=True)
class Samples:
    """Seconds per request of repeated runs."""

    values: list[float]

    def percentile(self, share: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    def timing(self) -> Timing:
        return Timing(statistics.median(self.values), min(self.values), max(self.values))


def client_main() -> None:
    """``--client``: GET each path of the job on stdin; print the seconds per request.

    A separate process with the standard library's keep-alive client, as Home Assistant is
    a separate process: the time is the server's, not a client's sharing its CPU and GIL.
    """
    job = json.load(sys.stdin)
    address = urlsplit(job["base"])
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    results = []
    for path, repeat in job["requests"]:
        samples = []
        for index in range(WARM_UP + repeat):
            start = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            if response.status != 200:
                raise SystemExit(f"GET {path}: HTTP {response.status}")
            if index >= WARM_UP:
                samples.append(elapsed)
        results.append(samples)
    connection.close()
    json.dump(results, sys.stdout)


def bare_samples(connection: sqlite3.Connection, sql: str, params: list[object],
                 repeat: int) -> Samples:
    """The query on a plain connection, all rows fetched into Python."""
    values = []
    for index in range(WARM_UP + repeat):
        start = time.perf_counter()
        connection.execute(sql, params).fetchall()
        if index >= WARM_UP:
            values.append(time.perf_counter() - start)
    return Samples(values)


def config_text(folder: str) -> str:
    cameras = "".join(f"""
          {name}:
            ffmpeg: {{inputs: [{{path: "rtsp://127.0.0.1/{name}", roles: [detect]}}]}}
            width: 1280
            height: 720""" for name in CAMERAS)
    return textwrap.dedent(f"""
        web: {{host: 127.0.0.1, port: 0}}
        media: {{clips: {folder}/clips, recordings: {folder}/rec, cache: {folder}/cache}}
        cameras:""") + textwrap.indent(textwrap.dedent(cameras), "  ") + "\n"


async def run() -> None:
    now = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-events-") as folder:
        config_file = Path(folder) / "config.yml"
        config_file.write_text(config_text(folder))
        config = load_config(config_file, {})
        prepare_media_folders(config, "bench")
        started = time.perf_counter()
        async with EventStore.open(config.database.path) as store:
            await store.save_many(make_events(now))
            size = Path(config.database.path).stat().st_size
            print(f"filled {EVENTS} events in {time.perf_counter() - started:.1f} s "
                  f"({size / 1e6:.0f} MB)")
            service = Service(config)
            service.store = store
            async with trio.open_nursery() as nursery:
                urls = await nursery.start(serve_http, create_app(service), config.web)
                await compare(urls[0], config.database.path, now)
                nursery.cancel_scope.cancel()


async def compare(base: str, database: str, now: float) -> None:
    todo = cases(now)
    job = {"base": base, "requests": [("/api/version", SMALL_REPEAT)]
           + [(case.url, case.repeat) for case in todo]}
    client = await trio.run_process(
        [sys.executable, "-m", "benchmarks.bench_events", "--client"], cwd=ROOT,
        stdin=json.dumps(job).encode(), capture_stdout=True)
    fixed, *http = (Samples(values) for values in json.loads(client.stdout))

    bare = sqlite3.connect(database)
    rows, lines = [], []
    for case, over_http in zip(todo, http, strict=True):
        sql, params = case.sql
        count = len(bare.execute(sql, params).fetchall())
        reference = bare_samples(bare, sql, params, case.repeat)
        name = f"{case.name} ({count})"
        rows.append(Row(name, over_http.timing(), reference.timing(), "bare sqlite3"))
        lines.append((name, over_http, reference))
    bare.close()

    print_table(f"Events API on {EVENTS} events: HTTP request (ours) against the same query "
                "on bare sqlite3 (reference).\nHere ratio = bare / HTTP: the HTTP+JSON "
                "overhead is its inverse, HTTP / bare, in the table below.", rows)
    print(f"\n{'case (rows)':42} {'HTTP p50':>9} {'HTTP p99':>9} {'bare p50':>9} "
          f"{'bare p99':>9}  HTTP/bare p50    p99")
    for name, over_http, reference in lines:
        p50, p99 = over_http.percentile(0.5), over_http.percentile(0.99)
        b50, b99 = reference.percentile(0.5), reference.percentile(0.99)
        print(f"{name:42} {p50 * 1e3:9.2f} {p99 * 1e3:9.2f} {b50 * 1e3:9.2f} "
              f"{b99 * 1e3:9.2f}  {p50 / b50:12.2f}x {p99 / b99:6.2f}x")
    print(f"(ms) An HTTP round trip alone (GET /api/version) takes p50 "
          f"{fixed.percentile(0.5) * 1e3:.2f} ms, p99 {fixed.percentile(0.99) * 1e3:.2f} ms.")


def main() -> None:
    if sys.argv[1:] == ["--client"]:
        client_main()
    else:
        trio.run(run)


if __name__ == "__main__":
    main()
