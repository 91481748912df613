"""The events API over real HTTP against a real SQLite file.

Expected answers are computed in the tests from the rows written, with the filter semantics
of Frigate 0.8's events API (zone fixed to an exact member match).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simplejpeg

from nvr.config import NvrConfig
from nvr.events import EventRecord
from support import MINIMAL_CAMERA

# US Eastern as a POSIX rule (no tz database needed): local days differ from UTC days.
LOCAL_ZONE = "EST5EDT,M3.2.0,M11.1.0"
DAY = 86_400.0
CAMERAS = ("front", "back", "side")
LABELS = ("person", "car", "dog")
ZONE_SETS = ((), ("yard",), ("backyard",), ("yard", "driveway"), ("driveway", "yard"),
             ("driveway",), ("porch*",))
BASE = 1_700_000_000.0  # 2023-11-14 17:13:20 EST


@pytest.fixture
def local_zone() -> Iterator[None]:
    """Run the test (and SQLite's 'localtime') in LOCAL_ZONE; restored afterwards."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = LOCAL_ZONE
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def jpeg(width: int, height: int) -> bytes:
    """A bright JPEG with some structure."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([128 + x * 127 // width, 255 - y * 100 // height,
                      np.full_like(x, 200)], axis=-1).astype(np.uint8)
    return simplejpeg.encode_jpeg(image, quality=90, colorspace="RGB")


def make_rows(count: int = 90, seed: int = 7) -> list[EventRecord]:
    """Ended events over ten days (distinct start times), a few in progress."""
    rng = random.Random(seed)
    thumbnail = base64.b64encode(jpeg(175, 175)).decode("ascii")
    offsets = rng.sample(range(10 * 86_400 * 1000), count)
    rows = []
    for index, offset in enumerate(offsets):
        start = BASE - offset / 1000 + 0.123
        in_progress = index % 15 == 0
        rows.append(EventRecord(
            id=f"{start:.6f}-{index:06d}", camera=rng.choice(CAMERAS), label=rng.choice(LABELS),
            start_time=start, end_time=None if in_progress else start + rng.uniform(2, 60),
            top_score=round(rng.uniform(0.6, 0.99), 3), false_positive=False,
            zones=rng.choice(ZONE_SETS), thumbnail=thumbnail, has_clip=rng.random() < 0.6,
            has_snapshot=rng.random() < 0.5, last_seen=start + 1,
        ))
    return rows


@dataclass
class Filters:
    """Expected results of GET /api/events, computed from the rows."""

    camera: str | None = None
    label: str | None = None
    zone: str | None = None
    after: float | None = None
    before: float | None = None
    has_clip: int | None = None
    has_snapshot: int | None = None
    limit: int = 100
    params: dict[str, Any] = field(default_factory=dict)

    def ids(self, rows: list[EventRecord]) -> list[str]:
        def keep(row: EventRecord) -> bool:
            return (row.end_time is not None
                    and (not self.camera or row.camera == self.camera)
                    and (not self.label or row.label == self.label)
                    and (not self.zone or self.zone in row.zones)
                    and (not self.after or row.start_time >= self.after)
                    and (not self.before or row.start_time <= self.before)
                    and (self.has_clip is None or row.has_clip == bool(self.has_clip))
                    and (self.has_snapshot is None
                         or row.has_snapshot == bool(self.has_snapshot)))

        kept = sorted(filter(keep, rows), key=lambda row: row.start_time, reverse=True)
        return [row.id for row in kept[:self.limit]]


def filters(**params: Any) -> Filters:
    known = {key: value for key, value in params.items() if key != "limit"}
    return Filters(**known, limit=min(params.get("limit", 100), 10_000), params=params)


@pytest.fixture
async def served(media_config: Callable[[str], NvrConfig], serve):
    return await serve(media_config(MINIMAL_CAMERA))


@pytest.fixture
async def filled(served, local_zone) -> tuple[Any, list[EventRecord]]:
    rows = make_rows()
    await served.service.store.save_many(rows)
    return served, rows


def is_json(response) -> bool:
    return response.headers["content-type"] == "application/json"


def error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert is_json(response)
    body = response.json()
    assert body["success"] is False
    return body["message"]


async def test_events_list_shape(filled) -> None:
    served, rows = filled
    response = await served.client.get("/api/events")
    assert response.status_code == 200 and is_json(response)
    body = response.json()
    assert [item["id"] for item in body] == Filters().ids(rows)
    by_id = {row.id: row for row in rows}
    for item in body:
        row = by_id[item["id"]]
        assert item == row.to_json()
        assert set(item) == {"id", "camera", "label", "start_time", "end_time", "top_score",
                             "false_positive", "zones", "thumbnail", "has_clip",
                             "has_snapshot"}
        assert isinstance(item["end_time"], float) and isinstance(item["zones"], list)
        assert base64.b64decode(item["thumbnail"]).startswith(b"\xff\xd8")
    starts = [item["start_time"] for item in body]
    assert starts == sorted(starts, reverse=True)


async def test_every_filter_and_combinations(filled) -> None:
    served, rows = filled
    ended = sorted((row for row in rows if row.end_time is not None),
                   key=lambda row: row.start_time)
    middle = ended[len(ended) // 2].start_time
    early, late = ended[10].start_time, ended[-10].start_time
    single = [
        {"camera": camera} for camera in (*CAMERAS, "nowhere")
    ] + [
        {"label": label} for label in (*LABELS, "unicorn")
    ] + [
        {"zone": zone} for zone in ("yard", "backyard", "driveway", "porch*", "porch", "*",
                                    "ard", "yar?")
    ] + [
        {"after": middle}, {"before": middle}, {"after": early, "before": late},
        {"after": late, "before": early},  # empty range
        {"has_clip": 1}, {"has_clip": 0}, {"has_clip": 7}, {"has_clip": -1},
        {"has_snapshot": 1}, {"has_snapshot": 0},
        {"limit": 1}, {"limit": 5}, {"limit": 100}, {"limit": 10_000}, {"limit": 99_999},
    ]
    representative = [{"camera": "front"}, {"label": "car"}, {"zone": "yard"},
                      {"zone": "driveway"}, {"after": middle}, {"before": middle},
                      {"has_clip": 1}, {"has_clip": 0}, {"has_snapshot": 1}, {"limit": 5}]
    cases = list(single)
    for size in (2, 3):
        for combination in itertools.combinations(representative, size):
            keys = [key for params in combination for key in params]
            if len(keys) == len(set(keys)):
                cases.append({key: value for params in combination
                              for key, value in params.items()})
    cases += [
        {"camera": "front", "label": "person", "zone": "yard", "has_clip": 1},
        {"camera": "back", "zone": "driveway", "after": early, "before": late, "limit": 3},
        {"label": "car", "has_clip": 0, "has_snapshot": 1, "after": middle},
        {"zone": "backyard", "has_snapshot": 0, "before": late},
    ]
    checked_non_empty = 0
    for params in cases:
        expected = filters(**params)
        response = await served.client.get("/api/events", params=params)
        assert response.status_code == 200, (params, response.text)
        got = [item["id"] for item in response.json()]
        assert got == expected.ids(rows), params
        checked_non_empty += bool(got)
    assert checked_non_empty > len(cases) // 2  # the data exercises the filters


async def test_bounds_are_inclusive_and_zero_means_absent(filled) -> None:
    served, rows = filled
    ended = sorted((row for row in rows if row.end_time is not None),
                   key=lambda row: row.start_time)
    target = ended[20]
    get = served.client.get

    exact = await get("/api/events", params={"after": target.start_time,
                                             "before": target.start_time})
    assert [item["id"] for item in exact.json()] == [target.id]
    # Integer bounds as Home Assistant sends them.
    after, before = int(ended[5].start_time), int(ended[30].start_time) + 1
    response = await get(f"/api/events?after={after}&before={before}")
    assert [item["id"] for item in response.json()] == filters(after=after,
                                                               before=before).ids(rows)
    everything = Filters().ids(rows)
    for params in ({"after": 0}, {"before": 0}, {"after": 0, "before": 0}, {"after": "0.0"}):
        response = await get("/api/events", params=params)
        assert [item["id"] for item in response.json()] == everything, params
    # Empty values are absent values.
    response = await get("/api/events?camera=&label=&zone=&after=&before=&has_clip=&limit=")
    assert [item["id"] for item in response.json()] == everything


async def test_include_thumbnails(filled) -> None:
    served, _ = filled
    for value, present in (("0", False), ("1", True), ("5", True)):
        response = await served.client.get(f"/api/events?include_thumbnails={value}&limit=7")
        body = response.json()
        assert len(body) == 7
        assert all(("thumbnail" in item) == present for item in body), value
    assert all("thumbnail" in item for item in (await served.client.get("/api/events")).json())


async def test_limit_default_and_cap(served) -> None:
    thumbnail = base64.b64encode(b"\xff\xd8tiny").decode()
    rows = [EventRecord(f"{1e9 + i:.1f}-{i:06d}", "front", "car", 1e9 + i, 1e9 + i + 1, 0.9,
                        False, (), thumbnail, i % 2 == 0, False, 1e9 + i + 1)
            for i in range(10_050)]
    await served.service.store.save_many(rows)
    get = served.client.get

    async def count(query: str) -> int:
        response = await get(f"/api/events?include_thumbnails=0{query}")
        assert response.status_code == 200, response.text
        return len(response.json())

    assert await count("") == 100
    assert await count("&limit=10000") == 10_000
    assert await count("&limit=20000") == 10_000  # capped
    assert await count("&limit=10000&has_clip=1") == 5_025
    newest = (await get("/api/events?limit=1&include_thumbnails=0")).json()
    assert newest[0]["id"] == rows[-1].id


async def test_summary_groups_by_local_day(filled) -> None:
    served, rows = filled

    def expected(has_clip: int | None = None, has_snapshot: int | None = None) -> Counter:
        counts: Counter = Counter()
        for row in rows:
            if row.end_time is None:
                continue
            if has_clip is not None and row.has_clip != bool(has_clip):
                continue
            if has_snapshot is not None and row.has_snapshot != bool(has_snapshot):
                continue
            day = time.strftime("%Y-%m-%d", time.localtime(row.start_time))
            counts[(row.camera, row.label, day, row.zones)] += 1
        return counts

    for params in ({}, {"has_clip": 1}, {"has_clip": 0}, {"has_snapshot": 1},
                   {"has_clip": 1, "has_snapshot": 0}):
        response = await served.client.get("/api/events/summary", params=params)
        assert response.status_code == 200 and is_json(response)
        body = response.json()
        assert all(set(item) == {"camera", "label", "day", "zones", "count"} for item in body)
        got = Counter({(item["camera"], item["label"], item["day"], tuple(item["zones"])):
                       item["count"] for item in body})
        assert len(got) == len(body)  # one item per group
        assert got == expected(**params), params
    # ["yard", "driveway"] and ["driveway", "yard"] are different groups, as in the reference.
    zone_sets = {tuple(item["zones"]) for item in
                 (await served.client.get("/api/events/summary")).json()}
    assert {("yard", "driveway"), ("driveway", "yard")} <= zone_sets
    # Local days, not UTC days: an event at 21:00 EST belongs to the EST day.
    late_evening = BASE + 4 * 3600 - 2 * DAY  # 21:13 EST, already the next day in UTC
    await served.service.store.save(EventRecord(
        "late-evening", "front", "unicorn", late_evening, late_evening + 5, 0.9, False, (),
        "", True, True, late_evening + 5))
    body = (await served.client.get("/api/events/summary")).json()
    assert [item["day"] for item in body if item["label"] == "unicorn"] == ["2023-11-12"]


async def test_home_assistant_queries(filled) -> None:
    """What Home Assistant's Frigate integration asks."""
    served, rows = filled
    get = served.client.get
    summary = (await get("/api/events/summary?has_clip=1")).json()
    assert sum(item["count"] for item in summary) == len(filters(has_clip=1,
                                                                 limit=10_000).ids(rows))

    clips = (await get("/api/events?has_clip=1&limit=50")).json()
    assert [item["id"] for item in clips] == filters(has_clip=1, limit=50).ids(rows)
    for item in clips:  # what the media browser reads
        assert isinstance(item["end_time"], float) and item["end_time"] >= item["start_time"]
        assert int(item["end_time"] - item["start_time"]) >= 0
        assert isinstance(item["top_score"], float) and isinstance(item["thumbnail"], str)
        assert not item["thumbnail"].startswith("data:")

    # Drill-down from the summary: camera, label, zone of one group, and its local day.
    group = max(summary, key=lambda item: (len(item["zones"]), item["count"]))
    day = time.strptime(group["day"], "%Y-%m-%d")
    midnight = int(time.mktime(day))
    next_midnight = int(time.mktime((day.tm_year, day.tm_mon, day.tm_mday + 1, 0, 0, 0, 0, 0,
                                     -1)))
    drills = [
        {"has_clip": 1, "limit": 50, "camera": group["camera"]},
        {"has_clip": 1, "limit": 50, "camera": group["camera"], "label": group["label"]},
        {"has_clip": 1, "limit": 50, "camera": group["camera"], "label": group["label"],
         "zone": group["zones"][0]},
        {"has_clip": 1, "limit": 50, "after": midnight, "before": next_midnight},
        {"has_clip": 1, "limit": 50, "camera": group["camera"], "label": group["label"],
         "zone": group["zones"][0], "after": midnight, "before": next_midnight},
        {"has_snapshot": 1, "limit": 50, "label": group["label"]},  # v1.1 Snapshots
        {"has_clip": 1, "limit": 10_000},  # the "All (N)" folder
    ]
    for params in drills:
        response = await get("/api/events", params=params)
        got = [item["id"] for item in response.json()]
        assert got == filters(**params).ids(rows), params
    # The zone filter also matches other zone lists holding that zone: at least the group.
    in_group = (await get("/api/events", params=drills[4])).json()
    assert len(in_group) >= min(group["count"], 50)


async def test_one_event(filled) -> None:
    served, rows = filled
    row = next(row for row in rows if row.end_time is not None)
    response = await served.client.get(f"/api/events/{row.id}")
    assert response.status_code == 200 and is_json(response)
    assert response.json() == row.to_json()

    assert error(await served.client.get("/api/events/1.0-nosuch"), 404) == "Event not found"
    in_progress = next(row for row in rows if row.end_time is None)
    assert error(await served.client.get(f"/api/events/{in_progress.id}"),
                 404) == "Event not found"


async def test_thumbnail(filled) -> None:
    served, rows = filled
    row = next(row for row in rows if row.end_time is not None)
    original = base64.b64decode(row.thumbnail)

    response = await served.client.get(f"/api/events/{row.id}/thumbnail.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == original
    ios = await served.client.get(f"/api/events/{row.id}/thumbnail.jpg?format=ios")
    assert ios.content == original

    android = await served.client.get(f"/api/events/{row.id}/thumbnail.jpg?format=android")
    assert android.status_code == 200 and android.headers["content-type"] == "image/jpeg"
    image = simplejpeg.decode_jpeg(android.content, colorspace="RGB")
    assert image.shape == (175, 350, 3)  # exactly 2:1
    assert image[:, :80].max() <= 12 and image[:, -80:].max() <= 12  # black sides
    source = simplejpeg.decode_jpeg(original, colorspace="RGB").astype(int)
    middle = image[:, 87 + 4:87 + 175 - 4].astype(int)
    assert np.abs(middle - source[:, 4:-4]).mean() < 4

    assert error(await served.client.get("/api/events/nope/thumbnail.jpg"),
                 404) == "Event not found"
    bad = await served.client.get(f"/api/events/{row.id}/thumbnail.jpg?format=bad")
    assert "format" in error(bad, 400)


async def test_android_thumbnail_of_any_width(served) -> None:
    for width, height in ((100, 175), (175, 101), (33, 17)):
        thumbnail = base64.b64encode(jpeg(width, height)).decode()
        event_id = f"{width}x{height}"
        await served.service.store.save(EventRecord(
            event_id, "front", "dog", 5.0, 6.0, 0.9, False, (), thumbnail, False, False, 6.0))
        response = await served.client.get(f"/api/events/{event_id}/thumbnail.jpg",
                                           params={"format": "android"})
        image = simplejpeg.decode_jpeg(response.content, colorspace="RGB")
        assert image.shape[:2] == (height, 2 * width)


class LiveObject:
    """Stands in for a tracked object of the pipeline (service.tracked_object)."""

    def __init__(self, snapshot: bytes | None) -> None:
        self.snapshot = snapshot
        self.calls: list[dict[str, Any]] = []

    async def thumbnail_jpeg(self) -> bytes:
        return simplejpeg.encode_jpeg(np.zeros((175, 175, 3), np.uint8), quality=70)

    async def snapshot_jpeg(self, **options: Any) -> bytes | None:
        self.calls.append(options)
        return self.snapshot


async def test_live_objects_serve_thumbnail_and_snapshot(filled) -> None:
    served, rows = filled
    in_progress = next(row for row in rows if row.end_time is None)
    live = {in_progress.id: LiveObject(b"\xff\xd8live snapshot"),
            "1.0-nobest": LiveObject(None)}
    served.service.tracked_object = live.get
    get = served.client.get

    thumbnail = await get(f"/api/events/{in_progress.id}/thumbnail.jpg")
    assert thumbnail.status_code == 200
    assert simplejpeg.decode_jpeg(thumbnail.content).shape == (175, 175, 3)
    android = await get(f"/api/events/{in_progress.id}/thumbnail.jpg?format=android")
    assert simplejpeg.decode_jpeg(android.content).shape == (175, 350, 3)

    snapshot = await get(f"/api/events/{in_progress.id}/snapshot.jpg?h=120&bbox=1&crop=0")
    assert snapshot.status_code == 200 and snapshot.content == b"\xff\xd8live snapshot"
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert live[in_progress.id].calls == [
        {"height": 120, "bbox": True, "timestamp": False, "crop": False}]
    # Still a false positive (no best frame yet): 404, not the reference's 500.
    assert error(await get("/api/events/1.0-nobest/snapshot.jpg"), 404) == "Event not found"


async def test_snapshot(filled) -> None:
    served, rows = filled
    clips = Path(served.service.config.media.clips)
    with_snapshot = [row for row in rows if row.end_time is not None and row.has_snapshot]
    saved, missing = with_snapshot[:2]
    without = next(row for row in rows if row.end_time is not None and not row.has_snapshot)
    content = os.urandom(3000)  # served as stored, whatever it holds
    (clips / f"{saved.camera}-{saved.id}.jpg").write_bytes(content)
    (clips / f"{without.camera}-{without.id}.jpg").write_bytes(b"flag says no")
    get = served.client.get

    response = await get(f"/api/events/{saved.id}/snapshot.jpg")
    assert response.status_code == 200 and response.content == content
    assert response.headers["content-type"] == "image/jpeg"
    scaled = await get(f"/api/events/{saved.id}/snapshot.jpg?h=100&bbox=1&timestamp=1&crop=1")
    assert scaled.content == content  # stored snapshots are sent unmodified

    assert error(await get(f"/api/events/{without.id}/snapshot.jpg"),
                 404) == "Snapshot not available"
    assert error(await get(f"/api/events/{missing.id}/snapshot.jpg"), 404) == "Event not found"
    assert error(await get("/api/events/1.0-nosuch/snapshot.jpg"), 404) == "Event not found"
    for query in ("h=abc", "h=0", "h=10001", "bbox=yes"):
        error(await get(f"/api/events/{saved.id}/snapshot.jpg?{query}"), 400)


async def test_bad_parameters_get_400(served) -> None:
    for query in ("limit=abc", "limit=0", "limit=-5", "limit=1.5", "after=x", "after=nan",
                  "before=inf", "before=-Infinity", "has_clip=yes", "has_snapshot=1.5",
                  "include_thumbnails=no"):
        message = error(await served.client.get(f"/api/events?{query}"), 400)
        assert query.split("=")[0] in message, (query, message)
    for query in ("has_clip=true", "has_snapshot=x"):
        error(await served.client.get(f"/api/events/summary?{query}"), 400)


async def test_routes_win_over_camera_routes(served) -> None:
    get = served.client.get
    listing = await get("/api/events")
    assert listing.status_code == 200 and is_json(listing) and listing.json() == []
    summary = await get("/api/events/summary")
    assert summary.status_code == 200 and summary.json() == []
    # /api/<camera>/latest.jpg does not catch the events routes either.
    assert error(await get("/api/events/latest.jpg"), 404) == "Event not found"
    # The camera routes still work.
    assert error(await get("/api/nocamera/latest.jpg"), 404) == "Camera named nocamera not found"
    # HEAD is answered too; other methods are not allowed.
    assert (await served.client.head("/api/events")).status_code == 200
    assert (await served.client.post("/api/events")).status_code == 405


class BrokenStore:
    generation = 0

    async def events_json(self, query: object) -> bytes:
        raise sqlite3.OperationalError("disk I/O error")

    async def get(self, event_id: str) -> EventRecord | None:
        raise sqlite3.DatabaseError("database disk image is malformed")


async def test_database_errors_are_json(served) -> None:
    store, served.service.store = served.service.store, BrokenStore()
    try:
        message = error(await served.client.get("/api/events"), 500)
        assert message == "Events database error: disk I/O error"
        error(await served.client.get("/api/events/x/snapshot.jpg"), 500)
        served.service.store = None
        assert "not open" in error(await served.client.get("/api/events/x"), 503)
    finally:
        served.service.store = store


async def test_zone_does_not_match_by_substring(served) -> None:
    records = [EventRecord(f"{i}.0-{name}", "front", "person", float(i), i + 1.0, 0.9, False,
                           zones, "", True, True, i + 1.0)
               for i, (name, zones) in enumerate([("yard", ("yard",)), ("back", ("backyard",)),
                                                  ("glob", ("a*", "[b]"))], start=1)]
    await served.service.store.save_many(records)

    async def ids(zone: str) -> list[str]:
        response = await served.client.get("/api/events", params={"zone": zone})
        return [item["id"] for item in response.json()]

    assert await ids("yard") == ["1.0-yard"]
    assert await ids("backyard") == ["2.0-back"]
    assert await ids("*") == [] and await ids("a") == [] and await ids("b") == []
    assert await ids("a*") == ["3.0-glob"] and await ids("[b]") == ["3.0-glob"]
    assert json.loads((await served.client.get("/api/events/3.0-glob")).text)["zones"] == [
        "a*", "[b]"]


async def test_polled_answers_are_replayed_until_something_changes(filled) -> None:
    """A query asked again gets the same bytes without the app or the database being asked;
    an event written, a flag changed or a switch flipped shows in the very next answer."""
    served, rows = filled
    get, store, replay = served.client.get, served.service.store, served.app.asgi_app
    listing, summary = "/api/events?has_clip=1&limit=50", "/api/events/summary?has_clip=1"

    async def answers() -> list[Any]:
        return [await get(path) for path in (listing, summary, "/api/config", "/api/version")]

    first = await answers()
    replayed = replay.replayed
    again = await answers()
    assert replay.replayed == replayed + 4
    for old, new in zip(first, again, strict=True):
        assert new.status_code == 200 and new.content == old.content
        assert {k: v for k, v in new.headers.items() if k != "date"} == {
            k: v for k, v in old.headers.items() if k != "date"}

    def clip_count(response: Any) -> int:
        return sum(item["count"] for item in response.json())

    newest = replace(rows[1], id="newest", start_time=BASE + 60, end_time=BASE + 70,
                     has_clip=True)
    await store.save(newest)
    after_save = await get(listing)
    assert [item["id"] for item in after_save.json()] == filters(
        has_clip=1, limit=50).ids([*rows, newest])
    assert clip_count(await get(summary)) == clip_count(first[1]) + 1

    await store.set_flags("newest", has_clip=False)
    assert (await get(listing)).content == first[0].content
    assert clip_count(await get(summary)) == clip_count(first[1])

    camera = next(iter(served.service.cameras.values()))
    camera.switches.set("detect", not camera.switches.detect)
    flipped = (await get("/api/config")).json()["cameras"][camera.name]["detect"]["enabled"]
    assert flipped == camera.switches.detect


async def test_an_origin_or_an_error_is_not_replayed(filled) -> None:
    served, _ = filled
    replay = served.app.asgi_app
    await served.client.get("/api/events?limit=0")
    bad = await served.client.get("/api/events?limit=0")
    assert "limit must be at least 1" in error(bad, 400)
    cross = [await served.client.get("/api/events", headers={"Origin": "http://127.0.0.1:1"})
             for _ in range(2)]
    assert all(response.status_code == 200 for response in cross)
    assert replay.replayed == 0
