"""The events database on a real SQLite file: schema, writes, crashes, cancellation, retention."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from nvr.config import NvrConfig
from nvr.events import EventQuery, EventRecord, EventStore, EventStoreError
from nvr.events.retention import SNAPSHOTS, expire_media, snapshot_retain_days
from nvr.events.store import events_sql, summary_sql

DAY = 86_400.0


async def listed(store: EventStore, query: EventQuery) -> list[dict]:
    """What ``GET /api/events`` answers for ``query``: the JSON documents."""
    return json.loads(await store.events_json(query))


async def listed_ids(store: EventStore, query: EventQuery) -> list[str]:
    return [document["id"] for document in await listed(store, query)]


def record(event_id: str, start: float, *, camera: str = "front", label: str = "person",
           end: float | None = 0.0, zones: tuple[str, ...] = (), has_clip: bool = True,
           has_snapshot: bool = True, last_seen: float | None = None) -> EventRecord:
    """An event; ``end`` 0.0 means ten seconds after ``start``, None in progress."""
    end_time = start + 10 if end == 0.0 else end
    return EventRecord(
        id=event_id, camera=camera, label=label, start_time=start, end_time=end_time,
        top_score=0.8, false_positive=False, zones=zones, thumbnail="dGh1bWI=",
        has_clip=has_clip, has_snapshot=has_snapshot,
        last_seen=last_seen if last_seen is not None else (end_time or start + 5),
    )


def raw(path: Path) -> sqlite3.Connection:
    """A second, independent connection to the file."""
    return sqlite3.connect(path)


async def test_schema_wal_and_folder_creation(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "events.db"

    async with EventStore.open(path) as store:
        assert path.exists()
        await store.save(record("1.0-aaaaaa", 1.0))
        conn = raw(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {row[1]: (row[2], row[3]) for row in conn.execute("PRAGMA table_info(event)")}
        assert columns["id"][0] == "VARCHAR(30)"
        assert columns["start_time"] == ("REAL", 1)
        assert columns["end_time"] == ("REAL", 0)  # NULL while in progress
        assert columns["last_seen"] == ("REAL", 1)
        assert set(columns) == {"id", "label", "camera", "start_time", "end_time", "top_score",
                                "false_positive", "zones", "thumbnail", "has_clip",
                                "has_snapshot", "last_seen"}
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(event)")}
        assert {"event_by_start", "event_by_camera", "event_by_label",
                "event_by_camera_label", "event_summary"} <= indexes
        conn.close()

    assert not store._thread.is_alive()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on close
    with pytest.raises(RuntimeError, match="closed"):
        await store.get("1.0-aaaaaa")


async def test_upsert_and_in_progress_rows(tmp_path: Path) -> None:
    async with EventStore.open(tmp_path / "events.db") as store:
        live = record("5.0-abcdef", 5.0, end=None, zones=("yard",), has_snapshot=False)
        await store.save(live)
        # In progress: stored, but neither listed nor returned.
        assert await store.exists(live.id)
        assert await store.get(live.id) is None
        assert await listed(store, EventQuery()) == []
        assert await store.summary() == []

        ended = dataclasses.replace(live, end_time=20.0, last_seen=20.0, top_score=0.93,
                                    zones=("yard", "porch"), has_snapshot=True)
        await store.save(ended)
        assert await store.get(live.id) == ended
        assert await listed(store, EventQuery()) == [ended.to_json()]
        assert await listed(store, EventQuery(zone="porch")) == [ended.to_json()]

        await store.save(dataclasses.replace(ended, zones=("porch",)))
        assert await listed(store, EventQuery(zone="yard")) == []
        assert await listed_ids(store, EventQuery(zone="porch")) == [live.id]

        assert await store.set_flags(live.id, has_clip=False)
        assert not (await store.get(live.id)).has_clip
        assert not await store.set_flags("nope", has_snapshot=False)

        conn = raw(store.path)
        assert conn.execute("SELECT COUNT(*) FROM event").fetchone()[0] == 1
        assert conn.execute("SELECT zone FROM event_zone").fetchall() == [("porch",)]
        conn.close()


async def test_records_convert_to_the_api_shape(tmp_path: Path) -> None:
    event = record("7.5-qwerty", 7.5, zones=["yard", "driveway"])  # a list is kept as a tuple
    assert event.zones == ("yard", "driveway")
    document = event.to_json()
    assert document == {
        "id": "7.5-qwerty", "camera": "front", "label": "person", "start_time": 7.5,
        "end_time": 17.5, "top_score": 0.8, "false_positive": False,
        "zones": ["yard", "driveway"], "thumbnail": "dGh1bWI=", "has_clip": True,
        "has_snapshot": True,
    }
    assert "thumbnail" not in event.to_json(include_thumbnail=False)


async def test_json_listing_is_the_records_newest_first(tmp_path: Path) -> None:
    rows = [
        record("1607123955.475377-mxklsc", 1607123955.475377, zones=("yard", "driveway")),
        dataclasses.replace(record("b", 1700000000.0), end_time=1700000012.0, top_score=1.0),
        dataclasses.replace(record("c", 1 / 3), top_score=0.958984375, false_positive=True,
                            has_clip=False, has_snapshot=False),
        record('q"uo\\te', 1e9 + 0.1, camera='ca"m', zones=('z\u00f6ne "1"', "\u2603"),
               label="l\nabel"),
        record("open", 2e9, end=None),
    ]
    newest_first = sorted((r for r in rows if r.end_time is not None),
                          key=lambda r: r.start_time, reverse=True)
    async with EventStore.open(tmp_path / "events.db") as store:
        await store.save_many(rows)
        for include in (True, False):
            for query in (EventQuery(include_thumbnails=include), EventQuery(limit=2),
                          EventQuery(zone="\u2603", include_thumbnails=include)):
                body = await store.events_json(query)
                assert body.endswith(b"]\n")
                expected = [r.to_json(query.include_thumbnails) for r in newest_first
                            if query.zone is None or query.zone in r.zones][:query.limit]
                assert json.loads(body) == expected
                # Compact, keys in the documented order, numbers as Python writes them.
                if query.zone is None and query.limit == 100:
                    assert len(expected) == 4
                    text = body.decode()
                    assert text.startswith('[{"id":"b","camera":"front","label":"person",'
                                           '"start_time":1700000000.0,"end_time":1700000012.0,'
                                           '"top_score":1.0,"false_positive":false,"zones":[],')
                    assert '"start_time":1607123955.475377,' in text
                    assert '"id":"q\\"uo\\\\te","camera":"ca\\"m","label":"l\\nabel",' in text
                    assert text.endswith('"has_clip":false,"has_snapshot":false}]\n')
        assert await store.events_json(EventQuery(camera="none")) == b"[]\n"


async def test_zone_matches_one_member_exactly(tmp_path: Path) -> None:
    rows = [
        record("1.0-a", 1.0, zones=("yard",)),
        record("2.0-b", 2.0, zones=("backyard",)),
        record("3.0-c", 3.0, zones=("yard", "yard", "driveway")),  # repeated: listed once
        record("4.0-d", 4.0, zones=("front*", "a?c", "[x]")),
        record("5.0-e", 5.0, zones=()),
    ]
    async with EventStore.open(tmp_path / "events.db") as store:
        await store.save_many(rows)

        async def ids(zone: str) -> list[str]:
            return await listed_ids(store, EventQuery(zone=zone))

        assert await ids("yard") == ["3.0-c", "1.0-a"]
        assert await ids("backyard") == ["2.0-b"]
        assert await ids("ard") == []
        assert await ids("*") == []
        assert await ids("front*") == ["4.0-d"]
        assert await ids("a?c") == ["4.0-d"]
        assert await ids("abc") == []
        assert await ids("[x]") == ["4.0-d"]
        assert await ids("x") == []
        assert await ids('"yard"') == []


QUERY_SHAPES = [
    {}, {"has_clip": 1}, {"camera": "a", "has_clip": 1}, {"label": "a", "has_snapshot": 1},
    {"camera": "a", "label": "b", "has_clip": 1}, {"zone": "z", "has_clip": 1},
    {"camera": "a", "label": "b", "zone": "z", "has_clip": 1},
    {"after": 1, "before": 2, "has_clip": 1}, {"camera": "a", "after": 1, "before": 2},
    {"camera": "a", "label": "b", "after": 1, "before": 2, "has_clip": 1},
    {"camera": "a", "label": "b", "zone": "z", "after": 1, "before": 2, "has_clip": 1},
]


async def test_queries_walk_indexes_in_start_time_order(tmp_path: Path) -> None:
    """Each filter Home Assistant combines reads an index newest first: no table scan, no sort."""
    async with EventStore.open(tmp_path / "events.db") as store:
        for shape in QUERY_SHAPES:
            sql, params = events_sql(EventQuery(**shape))
            plan = [row[3] for row in await store._fetch(f"EXPLAIN QUERY PLAN {sql}", params)]
            assert "USING INDEX" in plan[0] and not any("TEMP B-TREE" in step for step in plan), (
                shape, plan)
            if shape.get("zone"):
                assert "event_zone_by_zone" in plan[0], plan
        sql, params = summary_sql(1)
        plan = [row[3] for row in await store._fetch(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert "COVERING INDEX event_summary" in plan[0], plan  # never reads the thumbnails


async def test_rows_left_open_are_closed_at_last_seen(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "events.db"
    async with EventStore.open(path) as store:
        await store.save(record("1.0-open", 1.0, end=None, last_seen=42.5))
        await store.save(record("2.0-done", 2.0))

    caplog.set_level("INFO", logger="nvr.events.store")
    async with EventStore.open(path) as store:
        closed = await store.get("1.0-open")
        assert closed is not None and closed.end_time == 42.5 == closed.last_seen
        assert (await store.get("2.0-done")).end_time == 12.0
    assert "closed 1 event(s) left in progress" in caplog.text


KILLED_WRITER = """
import os, signal, sys, trio
from nvr.events import EventRecord, EventStore

async def main():
    async with EventStore.open(sys.argv[1]) as store:
        await store.save(EventRecord("100.0-killed", "front", "car", 100.0, None, 0.7, False,
                                     ("driveway",), "dGh1bWI=", False, True, 107.25))
        await store.save(EventRecord("90.0-ended", "front", "car", 90.0, 95.0, 0.9, False,
                                     (), "dGh1bWI=", True, False, 95.0))
        os.kill(os.getpid(), signal.SIGKILL)

trio.run(main)
"""


async def test_rows_survive_a_killed_writer(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    result = await trio.to_thread.run_sync(lambda: subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(path)], capture_output=True, timeout=60))
    assert result.returncode == -9, result.stderr.decode()
    assert path.with_name(path.name + "-wal").exists()  # never checkpointed nor closed

    async with EventStore.open(path) as store:
        killed = await store.get("100.0-killed")
        assert killed == EventRecord("100.0-killed", "front", "car", 100.0, 107.25, 0.7, False,
                                     ("driveway",), "dGh1bWI=", False, True, 107.25)
        assert await listed_ids(store, EventQuery(zone="driveway")) == [killed.id]
        assert await listed_ids(store, EventQuery()) == [killed.id, "90.0-ended"]
    conn = raw(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


SLOW_READ = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
             "SELECT COUNT(*) FROM n WHERE i < 0")


async def test_cancelled_read_is_interrupted_and_the_thread_lives_on(tmp_path: Path) -> None:
    async with EventStore.open(tmp_path / "events.db") as store:
        with trio.move_on_after(0.2) as scope:
            await store._fetch(SLOW_READ, ())  # would never end
        assert scope.cancelled_caught

        started = time.monotonic()
        await store.save(record("1.0-after", 1.0))
        assert (await store.get("1.0-after")).id == "1.0-after"
        assert time.monotonic() - started < 2  # the endless read was interrupted


async def test_a_cancelled_write_still_lands(tmp_path: Path) -> None:
    async with EventStore.open(tmp_path / "events.db") as store:
        with trio.CancelScope() as scope:
            scope.cancel()
            await store.save(record("1.0-saved", 1.0))
        assert scope.cancelled_caught
        assert await store.get("1.0-saved") is not None


async def test_errors_reach_the_caller(tmp_path: Path) -> None:
    async with EventStore.open(tmp_path / "events.db") as store:
        with pytest.raises(sqlite3.OperationalError):
            await store._fetch("SELECT nope FROM event", ())
        assert await listed(store, EventQuery()) == []
    with pytest.raises(ValueError, match="limit"):
        EventQuery(limit=10_001)


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    conn = raw(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(EventStoreError, match="schema 99 is newer"):
        async with EventStore.open(path):
            pass
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(EventStoreError, match="cannot open the events database"):
        async with EventStore.open(blocked / "events.db"):
            pass


async def test_a_frigate_table_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "frigate.db"
    conn = raw(path)
    conn.executescript("""
        CREATE TABLE event (id VARCHAR(30) NOT NULL PRIMARY KEY, label VARCHAR(20) NOT NULL,
            camera VARCHAR(20) NOT NULL, start_time DATETIME NOT NULL,
            end_time DATETIME NOT NULL, top_score REAL NOT NULL,
            false_positive INTEGER NOT NULL, zones JSON NOT NULL, thumbnail TEXT NOT NULL,
            has_clip INTEGER DEFAULT 1, has_snapshot INTEGER DEFAULT 1);
        CREATE INDEX event_label ON event (label);
        CREATE TABLE migratehistory (id INTEGER PRIMARY KEY, name VARCHAR(255));
        INSERT INTO event VALUES ('10.5-frigat', 'person', 'front', 10.5, 20.0, 0.9, 0,
                                  '["yard"]', 'dGh1bWI=', 1, 0);
    """)
    conn.close()

    async with EventStore.open(path) as store:
        adopted = await store.get("10.5-frigat")
        assert adopted == EventRecord("10.5-frigat", "front", "person", 10.5, 20.0, 0.9, False,
                                      ("yard",), "dGh1bWI=", True, False, 20.0)
        assert await listed_ids(store, EventQuery(zone="yard")) == [adopted.id]
        await store.save(record("30.0-new", 30.0, end=None))  # NULL end_time allowed now


RETENTION_CONFIG = """
snapshots: {retain: {default: 5}}
cameras:
  front:
    ffmpeg: {inputs: [{path: rtsp://127.0.0.1/a, roles: [detect]}]}
    width: 640
    height: 360
    snapshots: {enabled: true, retain: {default: 10, objects: {car: 2, dog: 0}}}
  back:
    ffmpeg: {inputs: [{path: rtsp://127.0.0.1/a, roles: [detect]}]}
    width: 640
    height: 360
    snapshots: {enabled: true}
"""


async def test_snapshot_retention(media_config: Callable[[str], NvrConfig],
                                  tmp_path: Path) -> None:
    config = media_config(textwrap.dedent(RETENTION_CONFIG))
    clips = Path(config.media.clips)
    clips.mkdir(parents=True)
    now = 1_700_000_000.0
    assert snapshot_retain_days(config, "front", "car") == 2
    assert snapshot_retain_days(config, "front", "person") == 10
    assert snapshot_retain_days(config, "back", "car") == 5  # inherits the global setting
    assert snapshot_retain_days(config, "gone", "car") == 5  # camera no longer configured

    rows = [
        record("a-car-old", now - 3 * DAY, label="car"),               # 3 > 2 days: expires
        record("b-car-new", now - 1 * DAY, label="car"),               # kept
        record("c-person-9d", now - 9 * DAY),                          # 9 < 10: kept
        record("d-person-11d", now - 11 * DAY),                        # expires
        record("e-dog-now", now - 60, label="dog"),                    # 0 days: expires
        record("f-back-6d", now - 6 * DAY, camera="back"),             # 6 > 5: expires
        record("g-back-4d", now - 4 * DAY, camera="back"),             # kept
        record("h-gone-6d", now - 6 * DAY, camera="gone"),             # global 5: expires
        record("i-missing-file", now - 30 * DAY),                      # file already gone
        record("j-no-snapshot", now - 30 * DAY, has_snapshot=False),   # nothing to do
        record("k-in-progress", now - 30 * DAY, end=None),             # still tracked
        record("l-evil", now - 30 * DAY, camera="../outside"),         # never leaves clips
    ]
    expired = {"a-car-old", "d-person-11d", "e-dog-now", "f-back-6d", "h-gone-6d",
               "i-missing-file", "l-evil"}
    for row in rows:
        if row.id != "i-missing-file" and row.camera != "../outside":
            (clips / f"{row.camera}-{row.id}.jpg").write_bytes(b"jpeg " + row.id.encode())
    outside = tmp_path / "outside-l-evil.jpg"
    outside.write_bytes(b"not ours")
    unrelated = clips / "front-unrelated.jpg"
    unrelated.write_bytes(b"no row")

    async with EventStore.open(config.database.path) as store:
        await store.save_many(rows)
        assert await expire_media(config, store, SNAPSHOTS, now) == len(expired)

        for row in rows:
            if row.camera != "../outside":
                file = clips / f"{row.camera}-{row.id}.jpg"
                assert file.exists() == (row.id not in expired), row.id
            stored = await store.get(row.id)
            if row.end_time is None:
                assert stored is None and await store.exists(row.id)
                continue
            assert stored is not None, row.id  # rows are kept
            assert stored.has_snapshot == (row.has_snapshot and row.id not in expired), row.id
            assert stored.thumbnail == row.thumbnail and stored.has_clip
        assert outside.read_bytes() == b"not ours"
        assert unrelated.exists()

        assert await expire_media(config, store, SNAPSHOTS, now) == 0  # nothing left to expire


async def test_retention_keeps_the_flag_of_an_undeletable_file(
        media_config: Callable[[str], NvrConfig]) -> None:
    config = media_config(textwrap.dedent(RETENTION_CONFIG))
    clips = Path(config.media.clips)
    clips.mkdir(parents=True)
    (clips / "front-1.0-dir.jpg").mkdir()  # unlink fails: not a file
    async with EventStore.open(config.database.path) as store:
        await store.save(record("1.0-dir", 1.0))
        assert await expire_media(config, store, SNAPSHOTS, 100 * DAY) == 0
        assert (await store.get("1.0-dir")).has_snapshot
    os.rmdir(clips / "front-1.0-dir.jpg")
