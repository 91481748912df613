"""Static media over real HTTP: ``/clips/…`` and ``/recordings/…`` files, ranges, listings,
and every way out of the media folders (sent as raw request targets, so the server really
sees ``..`` and encoded slashes: httpx would normalise them away)."""

from __future__ import annotations

import calendar
import os
import random
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import h11
import httpx
import pytest
import trio
from werkzeug.http import http_date

from support import MINIMAL_CAMERA

CLIP = "back-1607123955.475377-mxklsc.mp4"
SNAPSHOT = "back-1607123955.475377-mxklsc.jpg"
SIZE = 300_000  # more than one chunk
SECRET = b"SECRET-OUTSIDE-THE-MEDIA-FOLDERS"
# Thu, 26 Nov 2026 14:03:07 GMT and neighbours, for listings with known mtimes.
T0 = calendar.timegm((2026, 11, 26, 14, 3, 7))


@dataclass
class Media:
    client: httpx.AsyncClient
    clips: Path
    recordings: Path
    outside: Path
    clip: bytes


@pytest.fixture
async def media(media_config, serve, tmp_path: Path) -> Media:
    served = await serve(media_config(MINIMAL_CAMERA))
    media = served.service.config.media
    clips, recordings = Path(media.clips), Path(media.recordings)
    data = random.Random(1).randbytes(SIZE)
    (clips / CLIP).write_bytes(data)
    (clips / SNAPSHOT).write_bytes(b"\xff\xd8jpeg\xff\xd9")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(SECRET)
    return Media(served.client, clips, recordings, outside, data)


async def raw_request(client: httpx.AsyncClient, target: bytes, method: bytes = b"GET",
                      headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, bytes]:
    """Send ``target`` exactly as given; the status and body of the answer."""
    url = client.base_url
    async with await trio.open_tcp_stream(url.host, url.port) as stream:
        connection = h11.Connection(h11.CLIENT)
        request = h11.Request(method=method, target=target,
                              headers=((b"Host", b"test"), *headers))
        await stream.send_all(connection.send(request) + connection.send(h11.EndOfMessage()))
        status, body = 0, b""
        with trio.fail_after(10):
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(await stream.receive_some())
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    return status, body


# Files --------------------------------------------------------------------------------------

async def test_a_clip_is_served_whole_with_nginx_headers(media: Media) -> None:
    response = await media.client.get(f"/clips/{CLIP}")

    assert response.status_code == 200
    assert response.content == media.clip
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["last-modified"] == http_date((media.clips / CLIP).stat().st_mtime)
    assert response.headers["etag"]
    assert "content-range" not in response.headers


async def test_a_snapshot_is_a_jpeg(media: Media) -> None:
    response = await media.client.get(f"/clips/{SNAPSHOT}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == b"\xff\xd8jpeg\xff\xd9"


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 100),
    ("bytes=0-0", 0, 1),
    ("bytes=1000-270999", 1000, 271_000),
    ("bytes=-500", SIZE - 500, SIZE),
    ("bytes=-999999999", 0, SIZE),
    ("bytes=299000-", 299_000, SIZE),
    ("bytes=0-", 0, SIZE),
    ("bytes=299990-999999999", 299_990, SIZE),
    ("bytes=299999-299999", 299_999, SIZE),
    ("bytes = 10 - 19", 10, 20),
])
async def test_a_single_range_is_answered_with_206(media: Media, header: str, start: int,
                                                   end: int) -> None:
    response = await media.client.get(f"/clips/{CLIP}", headers={"Range": header})

    assert response.status_code == 206
    assert response.content == media.clip[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize("header", [
    f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=999999999999999999999999-", "bytes=-0",
])
async def test_a_range_past_the_end_is_416(media: Media, header: str) -> None:
    response = await media.client.get(f"/clips/{CLIP}", headers={"Range": header})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.json()["success"] is False


@pytest.mark.parametrize("header", [
    "bytes=0-1,5-6",  # several ranges: the whole file
    "bytes=5-2",      # reversed: invalid, ignored
    "items=0-1",
    "bytes=abc",
    "bytes=",
    "bytes=--1",
])
async def test_other_ranges_get_the_whole_file(media: Media, header: str) -> None:
    response = await media.client.get(f"/clips/{CLIP}", headers={"Range": header})

    assert response.status_code == 200
    assert response.content == media.clip
    assert "content-range" not in response.headers


async def test_if_range_honours_the_range_only_for_the_current_file(media: Media) -> None:
    first = await media.client.get(f"/clips/{CLIP}")
    for validator in (first.headers["etag"], first.headers["last-modified"]):
        response = await media.client.get(
            f"/clips/{CLIP}", headers={"Range": "bytes=0-9", "If-Range": validator})
        assert response.status_code == 206
        assert response.content == media.clip[:10]

    response = await media.client.get(
        f"/clips/{CLIP}", headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert response.content == media.clip


async def test_head_has_the_headers_of_get_and_no_body(media: Media) -> None:
    whole = await media.client.head(f"/clips/{CLIP}")
    part = await media.client.head(f"/clips/{CLIP}", headers={"Range": "bytes=-10"})

    assert whole.status_code == 200
    assert whole.headers["content-length"] == str(SIZE)
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.content == b""
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {SIZE - 10}-{SIZE - 1}/{SIZE}"
    assert part.headers["content-length"] == "10"
    assert part.content == b""
    # The connection is still usable: no stray body bytes were sent after the headers.
    assert (await media.client.get(f"/clips/{SNAPSHOT}")).status_code == 200


async def test_a_missing_clip_is_a_json_404(media: Media) -> None:
    response = await media.client.get("/clips/back-1607123955.475377-zzzzzz.mp4")

    assert response.status_code == 404
    assert response.json() == {
        "success": False, "message": "Not found: /clips/back-1607123955.475377-zzzzzz.mp4"}


async def test_clips_of_cameras_no_longer_configured_are_served(media: Media) -> None:
    (media.clips / "old_cam-2-1.0-abcdef.jpg").write_bytes(b"old")

    response = await media.client.get("/clips/old_cam-2-1.0-abcdef.jpg")

    assert response.status_code == 200
    assert response.content == b"old"


async def test_a_symlink_to_another_clip_is_followed(media: Media) -> None:
    (media.clips / "back-5.0-abcdef.mp4").symlink_to(media.clips / CLIP)

    response = await media.client.get("/clips/back-5.0-abcdef.mp4", headers={"Range": "bytes=-3"})

    assert response.status_code == 206
    assert response.content == media.clip[-3:]


async def test_the_clips_listing_holds_media_files_only(media: Media) -> None:
    (media.clips / "best").mkdir(exist_ok=True)
    (media.clips / "notes.txt").write_text("x")
    (media.clips / ".back-1.0-abcdef.mp4").write_bytes(b"hidden")
    (media.clips / "back-1.0-abcdef.mp4").symlink_to(media.outside / "secret.mp4")
    for name in (CLIP, SNAPSHOT):
        os.utime(media.clips / name, (T0, T0))
    assert (media.clips / "frigate.db").exists()

    response = await media.client.get("/clips/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == [
        {"name": SNAPSHOT, "type": "file", "mtime": "Thu, 26 Nov 2026 14:03:07 GMT",
         "size": 8},
        {"name": CLIP, "type": "file", "mtime": "Thu, 26 Nov 2026 14:03:07 GMT", "size": SIZE},
    ]


# Recordings ---------------------------------------------------------------------------------

def recordings_tree(root: Path) -> None:
    """``2026-11/26/{13,14}/{back,front}/MM.SS.mp4`` and an unsorted segment at the top, with
    mtimes T0 + n, plus things never listed."""
    hour = root / "2026-11" / "26" / "14"
    files = {
        hour / "back" / "03.07.mp4": b"a" * 10,
        hour / "back" / "04.07.mp4": b"b" * 20,
        hour / "back" / "notes.txt": b"not media",
        hour / "back" / ".05.07.mp4": b"hidden",
        hour / "front" / "00.00.mp4": b"c",
        root / "2026-11" / "26" / "13" / "back" / "59.07.mp4": b"d",
        root / "back-20261126140507.mp4": b"e" * 5,
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / ".hidden").mkdir()
    paths = sorted({*files, *(parent for path in files for parent in path.parents
                              if parent.is_relative_to(root) and parent != root)},
                   key=lambda path: -len(path.parts))
    for n, path in enumerate(paths):
        os.utime(path, (T0 + n, T0 + n))


def listed(root: Path, *names: str) -> list[dict]:
    """What the listing of ``root`` should say about ``names`` (in that order)."""
    items = []
    for name in names:
        path = root / name
        item = {"name": name, "type": "directory" if path.is_dir() else "file",
                "mtime": http_date(path.stat().st_mtime)}
        if path.is_file():
            item["size"] = path.stat().st_size
        items.append(item)
    return items


async def test_recordings_are_listed_at_every_level(media: Media) -> None:
    root = media.recordings
    recordings_tree(root)
    expected = {
        "": listed(root, "2026-11", "back-20261126140507.mp4"),
        "2026-11": listed(root / "2026-11", "26"),
        "2026-11/26": listed(root / "2026-11/26", "13", "14"),
        "2026-11/26/14": listed(root / "2026-11/26/14", "back", "front"),
        "2026-11/26/14/back": listed(root / "2026-11/26/14/back", "03.07.mp4", "04.07.mp4"),
    }
    assert expected["2026-11/26/14/back"][0]["mtime"].endswith(" GMT")

    for path, items in expected.items():
        targets = [f"/recordings/{path}/".replace("//", "/"), f"/recordings/{path}"]
        if not path:
            targets = ["/recordings/", "/recordings//", "/recordings"]  # HA 1.0.x: "//"
        for target in targets:
            status, body = await raw_request(media.client, target.encode())
            assert status == 200, target
            assert httpx.Response(200, content=body).json() == items, target
        response = await media.client.get(targets[0])
        assert response.headers["content-type"] == "application/json"


async def test_doubled_slashes_inside_a_recordings_path_are_merged(media: Media) -> None:
    recordings_tree(media.recordings)

    listing = await raw_request(media.client, b"/recordings/2026-11//26///14/")
    file = await raw_request(media.client, b"/recordings/2026-11/26//14/back//03.07.mp4")

    assert listing[0] == 200
    assert [item["name"] for item in httpx.Response(200, content=listing[1]).json()] == [
        "back", "front"]
    assert file == (200, b"a" * 10)


async def test_a_recording_is_served_with_ranges(media: Media) -> None:
    recordings_tree(media.recordings)
    path = "/recordings/2026-11/26/14/back/04.07.mp4"

    whole = await media.client.get(path)
    part = await media.client.get(path, headers={"Range": "bytes=5-9"})
    head = await media.client.head(path)

    assert whole.status_code == 200
    assert whole.content == b"b" * 20
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["content-length"] == "20"
    assert part.status_code == 206
    assert part.headers["content-range"] == "bytes 5-9/20"
    assert part.content == b"b" * 5
    assert head.status_code == 200
    assert head.headers["content-length"] == "20"
    assert head.content == b""


async def test_symlinks_inside_the_recordings_folder_are_followed(media: Media) -> None:
    recordings_tree(media.recordings)
    (media.recordings / "2026-11" / "27").symlink_to(media.recordings / "2026-11" / "26")

    listing = await media.client.get("/recordings/2026-11/27/14/")
    file = await media.client.get("/recordings/2026-11/27/14/back/03.07.mp4")

    assert [item["name"] for item in listing.json()] == ["back", "front"]
    assert file.content == b"a" * 10


# Escapes ------------------------------------------------------------------------------------

ESCAPES = [
    "/clips/../frigate.db",
    "/clips/%2e%2e/frigate.db",
    "/clips/%2e%2e/x",
    "/clips/..%2Ffrigate.db",
    "/clips/..%2ffrigate.db",
    "/clips/frigate.db",
    "/clips/frigate.db-wal",
    "/clips/frigate.db-shm",
    "/clips/best",
    "/clips/best/",
    "/clips/back-../../etc/passwd",
    "/clips/back-..%2F..%2Fetc%2Fpasswd",
    "/clips/%2Fetc%2Fpasswd",
    "/clips//etc/passwd",
    "/clips/.back-1.0-abcdef.mp4",
    "/clips/back-1.0-abcdef.mp4",        # a symlink to a file outside
    "/clips/back-2.0-abcdef.mp4",        # a symlink to the database
    "/clips/back-3.0-abcdef.mp4",        # a directory
    "/clips/back-4.0-abcdef.jpg",        # a symlink to a file in a subfolder
    "/clips/back-1607123955.475377-mxklsc.mp4%00",
    "/clips/back-1607123955.475377-mxklsc.mp4%2F",
    "/clips/back-1607123955.475377-mxklsc.mp4/",
    "/clips/back-1607123955.475377-mxklsc.mp4.bak",
    "/clips/back-1607123955.475377-MXKLSC.mp4",
    "/clips/back-1607123955.475377-mxkls.mp4",
    "/clips/back-1607123955.475377-mxklsc.png",
    "/clips/back-1607123955.475377-mxklsc",
    "/clips/1607123955.475377-mxklsc.mp4",
    "/clips/back.mp4",
    "/clips/back%20cam-1.0-abcdef.mp4",
    "/clips/back-1e9-abcdef.mp4",
    "/recordings/../clips/frigate.db",
    "/recordings/%2e%2e%2fclips/frigate.db",
    "/recordings/%2e%2e/clips/frigate.db",
    "/recordings/..%2Fclips%2Ffrigate.db",
    "/recordings/2026-11/../../clips/frigate.db",
    "/recordings/2026-11%2F26/",
    "/recordings/%2Fetc/passwd",
    "/recordings//etc/passwd",
    "/recordings/./2026-11/",
    "/recordings/.hidden/",
    "/recordings/2026-11/26/14/back/.05.07.mp4",
    "/recordings/2026-11/26/14/back/notes.txt",
    "/recordings/2026-11/26/14/back/03.07.mp4/",
    "/recordings/2026-11/26/14/back/99.99.mp4",
    "/recordings/2026-11/26/14/escape/",       # a symlinked directory pointing outside
    "/recordings/2026-11/26/14/escape/secret.mp4",
    "/recordings/link.mp4",                     # a symlinked file pointing outside
    "/recordings/db.mp4",                       # a symlink to the database
    "/recordings/2026-11\\..\\..\\clips\\frigate.db",
    "/recordings/2026-11%5C..%5C..%5Cclips%5Cfrigate.db",
    "//etc/passwd",
    "//clips/frigate.db",
    "/..",
    "/../clips/frigate.db",
]


@pytest.fixture
async def escapes(media: Media) -> Media:
    """``media`` with symlinks leading outside and to the database, and a recordings tree."""
    recordings_tree(media.recordings)
    secret = media.outside / "secret.mp4"
    (media.clips / "back-1.0-abcdef.mp4").symlink_to(secret)
    (media.clips / "back-2.0-abcdef.mp4").symlink_to(media.clips / "frigate.db")
    (media.clips / "back-3.0-abcdef.mp4").mkdir()
    (media.clips / "best").mkdir(exist_ok=True)
    (media.clips / "best" / "person.jpg").write_bytes(SECRET)
    (media.clips / "back-4.0-abcdef.jpg").symlink_to(media.clips / "best" / "person.jpg")
    (media.clips / ".back-1.0-abcdef.mp4").write_bytes(SECRET)
    (media.recordings / "2026-11/26/14/escape").symlink_to(media.outside)
    (media.recordings / "link.mp4").symlink_to(secret)
    (media.recordings / "db.mp4").symlink_to(media.clips / "frigate.db")
    return media


@pytest.mark.parametrize("target", ESCAPES)
async def test_no_path_leads_outside_the_media_files(escapes: Media, target: str) -> None:
    for method in (b"GET", b"HEAD"):
        status, body = await raw_request(escapes.client, target.encode(), method)
        assert status == 404, (method, target, body[:200])
    status, body = await raw_request(escapes.client, target.encode(),
                                     headers=((b"Range", b"bytes=0-"),))
    assert status == 404
    assert httpx.Response(404, content=body).json()["success"] is False
    assert SECRET not in body
    assert b"SQLite" not in body


async def test_an_absolute_path_in_the_url_is_refused(escapes: Media) -> None:
    secret = escapes.outside / "secret.mp4"
    for target in (f"/clips/{secret}", f"/recordings/{secret}", f"/recordings/{escapes.outside}/",
                   f"/recordings/{escapes.recordings}/2026-11/"):
        status, body = await raw_request(escapes.client, target.encode())
        assert status == 404, target
        assert SECRET not in body


async def test_listings_never_show_what_cannot_be_served(escapes: Media) -> None:
    top = await escapes.client.get("/recordings/")
    hour = await escapes.client.get("/recordings/2026-11/26/14/")
    clips = await escapes.client.get("/clips/")

    assert [item["name"] for item in top.json()] == ["2026-11", "back-20261126140507.mp4"]
    assert [item["name"] for item in hour.json()] == ["back", "front"]
    assert [item["name"] for item in clips.json()] == [SNAPSHOT, CLIP]


# Large files --------------------------------------------------------------------------------

async def test_a_large_file_is_streamed_without_holding_it_in_memory(media: Media) -> None:
    size = 50 * 1024 * 1024
    block = random.Random(2).randbytes(1024 * 1024)
    path = media.recordings / "2026-11" / "26" / "14" / "back" / "00.00.mp4"
    path.parent.mkdir(parents=True)
    with path.open("wb") as file:
        for _ in range(size // len(block)):
            file.write(block)

    async def received(headers: dict[str, str]) -> tuple[int, int, bytes]:
        count, head = 0, b""
        async with media.client.stream("GET", "/recordings/2026-11/26/14/back/00.00.mp4",
                                       headers=headers) as response:
            async for chunk in response.aiter_raw():
                if len(head) < 16:
                    head += chunk[:16]
                count += len(chunk)
        return response.status_code, count, head[:16]

    tracemalloc.start()
    try:
        whole = await received({})
        middle = await received({"Range": f"bytes={size // 2 + 3}-{size - 1000}"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert whole == (200, size, block[:16])
    offset = (size // 2 + 3) % len(block)
    assert middle == (206, size // 2 - 1002, block[offset:offset + 16])
    assert peak < 16 * 1024 * 1024
