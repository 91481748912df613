"""Wait until the demo service (the README's first command) shows the whole pipeline.

Polls http://127.0.0.1:5000 until /api/stats shows frames and a person event with a snapshot
and a playable clip exists, then prints how long each step took. Exit 1 on timeout.
Standard library only: it runs beside the install it checks.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

BASE = "http://127.0.0.1:5000"
INSTALL_TIMEOUT = 900  # s until the service answers (venv + pip install + start)
EVENT_TIMEOUT = 180  # s from then until a person event with snapshot and clip


def get(path: str) -> tuple[int, str, bytes]:
    """Status, content type and body of ``path`` (status 0 while nothing listens)."""
    try:
        with urllib.request.urlopen(BASE + path, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""
    except (urllib.error.URLError, OSError):
        return 0, "", b""


def wait(what: str, timeout: float, ready) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if ready():
            return time.monotonic() - started
        time.sleep(2)
    sys.exit(f"check_demo: no {what} after {timeout:.0f} s")


def frames_arrive() -> bool:
    status, _, body = get("/api/stats")
    return status == 200 and json.loads(body)["demo"]["camera_fps"] > 0


def person_event_with_media() -> bool:
    status, _, body = get("/api/events?camera=demo&label=person&has_clip=1&has_snapshot=1")
    if status != 200 or not json.loads(body):
        return False
    event = json.loads(body)[0]
    snapshot = get(f"/api/events/{event['id']}/snapshot.jpg")
    clip = get(f"/clips/demo-{event['id']}.mp4")
    ok = (snapshot[0] == 200 and snapshot[1] == "image/jpeg" and snapshot[2][:2] == b"\xff\xd8"
          and clip[0] == 200 and clip[1] == "video/mp4" and b"ftyp" in clip[2][:16])
    if ok:
        print(f"check_demo: event {event['id']}: person {event['top_score']:.2f}, "
              f"{event['end_time'] - event['start_time']:.1f} s, zones {event['zones']}, "
              f"snapshot {len(snapshot[2])} bytes, clip {len(clip[2])} bytes")
    return ok


def web_ui_served() -> bool:
    """The installed package carries the UI: the page and each file it loads."""
    status, kind, page = get("/")
    if status != 200 or not kind.startswith("text/html"):
        return False
    assets = [f"/ui/{name}" for name in ("style.css", "app.js", "api.js", "cameras.js",
                                         "camera.js", "events.js", "event.js", "recordings.js",
                                         "system.js")]
    return all(get(asset)[0] == 200 for asset in assets) and b"/ui/app.js" in page


def main() -> None:
    install = wait("answer on /api/", INSTALL_TIMEOUT, lambda: get("/api/")[0] == 200)
    print(f"check_demo: serving after {install:.0f} s (venv, pip install ., start)")
    wait("the web UI at /", 10, web_ui_served)
    print("check_demo: the web UI and its files are served")
    frames = wait("frames in /api/stats", 60, frames_arrive)
    print(f"check_demo: frames {frames:.0f} s later")
    event = wait("person event with a snapshot and a clip", EVENT_TIMEOUT,
                 person_event_with_media)
    print(f"check_demo: first person event with snapshot and clip {frames + event:.0f} s "
          "after the service started serving")


if __name__ == "__main__":
    main()
