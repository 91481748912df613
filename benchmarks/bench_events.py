"""The events API on 100 000 events: Home Assistant's queries over HTTP against bare SQLite.

A temporary database is filled with 100 000 events (4 cameras, 5 labels, zones, ~1.5 KB
base64 thumbnails, start times over 60 days, half with clips). For each query the
integration sends, the full HTTP request over loopback
to the served app (Hypercorn + Quart-Trio in Trio, as the service runs it; the client is a
keep-alive ``http.client`` in another process) is timed against the same filter run as SQL on
a plain ``sqlite3`` connection with the rows fetched into Python. The ratio HTTP / bare is the
overhead of the database thread hand-off, JSON and HTTP.

Run: python -m benchmarks.bench_events
"""

from __future__ import annotations

import sqlite3
import tempfile
import textwrap
import time
from pathlib import Path

import trio

from benchmarks.common import Row, print_table
from nvr.bench.events_data import (
    CAMERAS,
    EVENTS,
    SMALL_REPEAT,
    Samples,
    bare_samples,
    cases,
    http_samples,
    make_events,
)
from nvr.bench.model import Stat
from nvr.config import load_config
from nvr.events import EventStore
from nvr.service import Service, bind_http, prepare_media_folders, serve_http
from nvr.web.app import create_app


def timing(samples: Samples) -> Stat:
    """Median, min and max of ``samples``, as the benchmark tables print them."""
    return samples.stat()


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
                urls = await nursery.start(serve_http, create_app(service),
                                           bind_http(config.web), config.web)
                await compare(urls[0], config.database.path, now)
                nursery.cancel_scope.cancel()


async def compare(base: str, database: str, now: float) -> None:
    todo = cases(now)
    fixed, *http = await http_samples(base, [("/api/version", SMALL_REPEAT)]
                                      + [(case.url, case.repeat) for case in todo])

    bare = sqlite3.connect(database)
    rows, lines = [], []
    for case, over_http in zip(todo, http, strict=True):
        sql, params = case.sql
        count = len(bare.execute(sql, params).fetchall())
        baseline = bare_samples(bare, sql, params, case.repeat)
        name = f"{case.name} ({count})"
        rows.append(Row(name, timing(over_http), timing(baseline), "bare sqlite3"))
        lines.append((name, over_http, baseline))
    bare.close()

    print_table(f"Events API on {EVENTS} events: HTTP request (ours) against the same query "
                "on bare sqlite3 (baseline).\nHere ratio = bare / HTTP: the HTTP+JSON "
                "overhead is its inverse, HTTP / bare, in the table below.", rows)
    print(f"\n{'case (rows)':42} {'HTTP p50':>9} {'HTTP p99':>9} {'bare p50':>9} "
          f"{'bare p99':>9}  HTTP/bare p50    p99")
    for name, over_http, baseline in lines:
        p50, p99 = over_http.percentile(0.5), over_http.percentile(0.99)
        b50, b99 = baseline.percentile(0.5), baseline.percentile(0.99)
        print(f"{name:42} {p50 * 1e3:9.2f} {p99 * 1e3:9.2f} {b50 * 1e3:9.2f} "
              f"{b99 * 1e3:9.2f}  {p50 / b50:12.2f}x {p99 / b99:6.2f}x")
    print(f"(ms) An HTTP round trip alone (GET /api/version) takes p50 "
          f"{fixed.percentile(0.5) * 1e3:.2f} ms, p99 {fixed.percentile(0.99) * 1e3:.2f} ms.")


def main() -> None:
    trio.run(run)


if __name__ == "__main__":
    main()
