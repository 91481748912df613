"""``nvr run`` on real footage with the real SSD model: events, thumbnails, snapshots, best.jpg,
and a SIGKILL in the middle of an event.

The one-by-one footage (10 fps) has people in view from about 6.0-19.5 s, 23-44.5 s,
50.5-69.5 s, 74.5-86.5 s, 92.5-119.5 s and 123.5-136 s (SSD at 2 frames/s), and nobody in
between. Inputs are cut with ``-ss``/``-t`` and read at twice real time.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import simplejpeg

from support import (
    CYCLIST,
    FOOTAGE,
    camera,
    events,
    poll,
    service_config,
    shared_file,
    start,
    stop,
    stored_events,
)


@pytest.mark.slow
def test_people_and_cars_become_events(write_config: Callable[..., Path]) -> None:
    footage = shared_file(FOOTAGE)
    cameras = (
        # One person from 74.5 s to 86.5 s, then nobody.
        camera("person", footage, "-readrate 2 -ss 72 -t 20", 768, 432)
        # Nobody at all.
        + camera("empty", footage, "-readrate 2 -ss 0 -t 5.5", 768, 432)
        + camera("road", shared_file(CYCLIST), "-readrate 2", 320, 240,
                 "    objects: {track: [car], filters: {car: {threshold: 0.6}}}")
    )
    config, url = service_config(write_config, cameras)
    process = start(config)
    poll(process, lambda: bool(events(url, camera="person")) and bool(events(url, camera="road")),
         120, "a person event and a car event")
    # best.jpg of a label seen shows it; a label never seen is black at the camera's size.
    best = httpx.get(f"{url}/api/person/person/best.jpg?h=216&crop=1", timeout=10)
    assert best.status_code == 200
    assert simplejpeg.decode_jpeg(best.content).shape == (216, 216, 3)
    unseen = simplejpeg.decode_jpeg(httpx.get(f"{url}/api/road/bus/best.jpg", timeout=10).content)
    assert unseen.shape == (240, 320, 3) and unseen.max() < 20
    stats = httpx.get(f"{url}/api/stats", timeout=10).json()
    assert stats["detectors"]["cpu"]["inference_speed"] > 0
    assert stats["detection_fps"] > 0
    stop(process)

    clips = config.parent / "media" / "clips"
    people = stored_events(clips, "person")
    assert people
    person = max(people, key=lambda event: event["top_score"])
    assert {event["label"] for event in people} == {"person"}
    assert person["end_time"] > person["start_time"]
    assert person["top_score"] >= 0.6
    assert person["has_snapshot"] and not person["false_positive"]
    thumbnail = simplejpeg.decode_jpeg(base64.b64decode(person["thumbnail"]))
    assert thumbnail.shape[0] == 175
    snapshot = clips / f"person-{person['id']}.jpg"
    assert simplejpeg.decode_jpeg(snapshot.read_bytes()).shape == (432, 768, 3)
    assert stored_events(clips, "empty") == []
    cars = stored_events(clips, "road")
    assert cars and {event["label"] for event in cars} == {"car"}


@pytest.mark.slow
def test_sigkill_mid_event_leaves_consistent_rows(write_config: Callable[..., Path]) -> None:
    footage = shared_file(FOOTAGE)
    # Someone is in view from 74.5 s to 86.5 s: kill nvr while they still are.
    config, url = service_config(
        write_config, camera("person", footage, "-readrate 1 -ss 72 -t 20", 768, 432))
    database = config.parent / "media" / "clips" / "frigate.db"

    def open_row() -> bool:
        if not database.exists():
            return False
        with sqlite3.connect(database) as db:
            try:
                rows = db.execute("SELECT count(*) FROM event WHERE end_time IS NULL")
            except sqlite3.OperationalError:  # the file is there, its table not yet
                return False
            return rows.fetchone()[0] > 0

    process = start(config)
    poll(process, open_row, 90, "an event in progress")
    assert events(url) == []  # in progress: not listed yet
    process.kill()
    process.wait(10)

    restarted = start(config)
    poll(restarted, lambda: httpx.get(f"{url}/api/", timeout=1).status_code == 200, 60,
         "the restarted service")
    [event] = events(url)
    assert event["end_time"] >= event["start_time"]
    assert event["label"] == "person" and event["top_score"] >= 0.6
    assert httpx.get(f"{url}/api/events/{event['id']}", timeout=10).json() == event
    thumbnail = httpx.get(f"{url}/api/events/{event['id']}/thumbnail.jpg", timeout=10)
    assert simplejpeg.decode_jpeg(thumbnail.content).shape[0] == 175
    stop(restarted)
