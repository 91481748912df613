"""Events for the events-API benchmarks: a realistic table of many events, the queries Home
Assistant sends, and how they are timed (over HTTP from another process, and on bare SQLite).

The events: 4 cameras, 5 labels, zones, ~1.5 KB base64 thumbnails, start times over 60 days,
half with clips. Used by ``benchmarks/bench_events.py`` and the ``api`` suite of ``nvr bench``.
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import statistics
import sys
import time
from base64 import b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import simplejpeg
import trio
from PIL import Image

from nvr.bench.model import Stat
from nvr.events import EventQuery, EventRecord, EventStore
from nvr.events.store import events_sql, summary_sql

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


def make_events(now: float, count: int = EVENTS) -> list[EventRecord]:
    """``count`` events in start-time order, as the service would have written them."""
    rng = random.Random(7)
    images = thumbnails()
    labels, weights = zip(*LABELS, strict=True)
    starts = sorted(now - rng.random() * DAYS * 86_400 for _ in range(count))
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


async def fill(database: str | Path, now: float, count: int = EVENTS) -> None:
    """Create the event database at ``database`` holding ``count`` events (``make_events``)."""
    async with EventStore.open(database) as store:
        await store.save_many(make_events(now, count))


def local_midnight(epoch: float, days: int = 0) -> int:
    day = time.localtime(epoch)
    return int(time.mktime((day.tm_year, day.tm_mon, day.tm_mday + days, 0, 0, 0, 0, 0, -1)))


@dataclass(frozen=True)
class Case:
    """One query: its name, its URL path, the same filter as SQL, and how often to time it."""

    name: str
    url: str
    sql: tuple[str, list[object]]
    repeat: int


def events_case(name: str, repeat: int = SMALL_REPEAT, **params: Any) -> Case:
    """A ``/api/events`` query with ``params`` (as the URL gives them)."""
    query = "&".join(f"{key}={value}" for key, value in params.items())
    limit = int(params.pop("limit", 100))
    return Case(name, f"/api/events?{query}", events_sql(EventQuery(**params, limit=limit)),
                repeat)


def summary_case(repeat: int = 40) -> Case:
    """``/api/events/summary?has_clip=1``: what the integration asks for its sensors."""
    return Case("summary has_clip=1", "/api/events/summary?has_clip=1", summary_sql(1), repeat)


def cases(now: float) -> list[Case]:
    """Every query Home Assistant's integration sends (listed in tests/test_events_api.py)."""
    day = now - 30 * 86_400
    after, before = local_midnight(day), local_midnight(day, 1)
    return [
        summary_case(),
        events_case("events has_clip=1 limit=50", has_clip=1, limit=50),
        events_case("camera drill-down", camera="garage", has_clip=1, limit=50),
        events_case("camera+label drill-down", camera="front_door", label="dog", has_clip=1,
                    limit=50),
        events_case("camera+label+zone drill-down", camera="front_door", label="person",
                    zone="porch", has_clip=1, limit=50),
        events_case("rare zone drill-down", camera="backyard", label="person", zone=RARE_ZONE,
                    has_clip=1, limit=50),
        events_case("zone drill-down", zone="driveway", has_clip=1, limit=50),
        events_case("one day (after/before)", after=after, before=before, has_clip=1,
                    limit=50),
        events_case("All folder has_clip=1 limit=10000", LARGE_REPEAT, has_clip=1,
                    limit=10_000),
    ]


@dataclass(frozen=True)
class Samples:
    """Seconds per request of repeated runs."""

    values: list[float]

    def percentile(self, share: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    def stat(self) -> Stat:
        """Median (p50), min and max."""
        return Stat(statistics.median(self.values), min(self.values), max(self.values),
                    len(self.values))


def client_main() -> None:
    """``--client``: GET each URL of the job on stdin; print the seconds per request.

    A separate process with the standard library's keep-alive client (one connection per
    server), as Home Assistant is a separate process: the time is the server's, not a
    client's sharing its CPU and GIL. The URLs take turns, a share of their requests in each
    of the job's rounds, so that load from elsewhere on the machine hits them alike.
    """
    job = json.load(sys.stdin)
    connections: dict[str, http.client.HTTPConnection] = {}

    def get(url: str) -> float:
        address = urlsplit(url)
        connection = connections.get(address.netloc)
        if connection is None:
            connection = connections[address.netloc] = http.client.HTTPConnection(
                address.hostname or "127.0.0.1", address.port, timeout=60)
        path = f"{address.path}?{address.query}" if address.query else address.path
        start = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise SystemExit(f"GET {url}: HTTP {response.status}")
        return elapsed

    requests, rounds = job["requests"], job["rounds"]
    for url, _ in requests:
        for _ in range(WARM_UP):
            get(url)
    results: list[list[float]] = [[] for _ in requests]
    for round_index in range(rounds):
        for samples, (url, repeat) in zip(results, requests, strict=True):
            share = repeat * (round_index + 1) // rounds - repeat * round_index // rounds
            samples.extend(get(url) for _ in range(share))
    for connection in connections.values():
        connection.close()
    json.dump(results, sys.stdout)


async def http_samples(base: str, requests: Sequence[tuple[str, int]],
                       rounds: int = 10) -> list[Samples]:
    """Time each (path or URL, repeat) of ``requests`` against ``base`` from a client
    process, in ``rounds`` rounds."""
    job = {"requests": [(urljoin(base, path), repeat) for path, repeat in requests],
           "rounds": rounds}
    client = await trio.run_process(
        [sys.executable, "-m", "nvr.bench.events_data", "--client"],
        stdin=json.dumps(job).encode(), capture_stdout=True)
    return [Samples(values) for values in json.loads(client.stdout)]


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


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        client_main()
