"""latest.jpg and the MJPEG stream over real HTTP, on real footage."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trio
from PIL import Image

from nvr.web.live import MJPEG_STREAMS
from support import looped_footage, shared_file, wait_for

BAD_PARAMETERS = [
    ("h=abc", "h must be an integer, got 'abc'"),
    ("h=0", "h must be between 1 and 1728, got 0"),
    ("h=1729", "h must be between 1 and 1728, got 1729"),
    ("h=-5", "h must be between 1 and 1728, got -5"),
    ("bbox=x", "bbox must be an integer, got 'x'"),
    ("motion=yes", "motion must be an integer, got 'yes'"),
]


@pytest.fixture
async def front(media_config, serve):
    """A service with one camera playing the one-by-one footage, after its first frame."""
    shared_file("media/intel_one_by_one_person_detection_768x432.mp4")
    served = await serve(media_config("cameras:" + looped_footage("front")), cameras=True)
    camera = served.service.cameras["front"]
    await wait_for(lambda: camera.latest is not None, 20, "the first frame")
    return served


@pytest.mark.parametrize("height", [None, 216, 432, 1000])
async def test_latest_jpg_has_the_requested_height_and_the_frame_aspect(front, height) -> None:
    query = {} if height is None else {"h": height}
    response = await front.client.get("/api/front/latest.jpg", params=query)

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    expected_height = height or 432
    assert image.height == expected_height
    assert abs(image.width / image.height - 768 / 432) < 0.02


async def test_overlay_flags_are_drawn(media_config, serve) -> None:
    # The motion mask covers the left half: the mask overlay paints it black.
    served = await serve(media_config("cameras:" + looped_footage("front") + """
    motion:
      mask: 0,0,384,0,384,432,0,432
"""), cameras=True)
    camera = served.service.cameras["front"]
    await wait_for(lambda: camera.latest is not None, 20, "the first frame")

    def halves(response) -> tuple[float, float]:
        assert response.status_code == 200
        image = np.asarray(Image.open(io.BytesIO(response.content)).convert("L"), float)
        return image[:, 8:376].mean(), image[:, 392:].mean()

    plain_left, plain_right = halves(await served.client.get("/api/front/latest.jpg"))
    query = {flag: 1 for flag in ("bbox", "timestamp", "zones", "mask", "motion", "regions")}
    masked_left, masked_right = halves(
        await served.client.get("/api/front/latest.jpg", params=query))

    assert plain_left > 20 and masked_left < 3
    assert masked_right == pytest.approx(plain_right, abs=15)


@pytest.mark.parametrize(("query", "message"), BAD_PARAMETERS)
@pytest.mark.parametrize("path", ["/api/front/latest.jpg", "/api/front"])
async def test_bad_parameters_get_400(front, path, query, message) -> None:
    response = await front.client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json() == {"success": False, "message": message}


@pytest.mark.parametrize(("query", "message"), [
    ("fps=0", "fps must be between 1 and 30, got 0"),
    ("fps=-1", "fps must be between 1 and 30, got -1"),
    ("fps=ten", "fps must be an integer, got 'ten'"),
])
async def test_bad_fps_gets_400(front, query, message) -> None:
    response = await front.client.get(f"/api/front?{query}")
    assert response.status_code == 400
    assert response.json()["message"] == message


@pytest.mark.parametrize("path", ["/api/back/latest.jpg", "/api/back"])
async def test_unknown_camera_gets_404(front, path) -> None:
    response = await front.client.get(path)
    assert response.status_code == 404
    assert response.json()["message"] == "Camera named back not found"


async def read_parts(response, count: int) -> list[bytes]:
    """The JPEGs of the first ``count`` parts of a multipart stream."""
    buffer, parts = b"", []
    async for chunk in response.aiter_bytes():
        buffer += chunk
        while True:
            start = buffer.find(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n")
            end = buffer.find(b"\xff\xd9\r\n\r\n", start)
            if start < 0 or end < 0:
                break
            header_end = buffer.index(b"\r\n\r\n", start) + 4
            parts.append(buffer[header_end:end + 2])
            buffer = buffer[end + 6:]
        if len(parts) >= count:
            return parts[:count]
    return parts


async def test_mjpeg_stream_yields_jpeg_parts(front) -> None:
    async with front.client.stream("GET", "/api/front", params={"fps": 10, "h": 180,
                                                                "motion": 1}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
        parts = await read_parts(response, 3)

    assert len(parts) == 3
    for part in parts:
        image = Image.open(io.BytesIO(part))
        image.load()
        assert image.height == 180 and image.width == 320


async def test_disconnected_viewer_stops_costing(front) -> None:
    camera = front.service.cameras["front"]
    async with front.client.stream("GET", "/api/front", params={"fps": 5}) as response:
        await read_parts(response, 1)
        assert camera.live.viewers == 1
    await wait_for(lambda: camera.live.viewers == 0, 1.0, "the viewer to be gone")


async def test_viewers_of_the_same_stream_share_one_encode_per_frame(front) -> None:
    camera = front.service.cameras["front"]

    async def view(params: dict[str, int]) -> None:
        async with front.client.stream("GET", "/api/front", params=params) as response:
            await read_parts(response, 10)

    rendered_before, first_index = camera.live.renders.rendered, camera.latest.frame.index
    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(view, {"fps": 10, "h": 240})
    frames = camera.latest.frame.index - first_index + 1
    # Five viewers at the camera's rate: at most one encode per frame, not five.
    assert camera.live.renders.rendered - rendered_before <= frames + 1


def streams_of(served):
    return served.app.extensions[MJPEG_STREAMS]


async def test_viewers_of_one_stream_share_one_part_per_frame(front) -> None:
    streams = streams_of(front)
    received: list[list[bytes]] = []

    async def view() -> None:
        async with front.client.stream("GET", "/api/front", params={"fps": 10, "h": 180}) \
                as response:
            received.append(await read_parts(response, 8))

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(view)
        await wait_for(lambda: len(streams) == 1 and front.service.cameras["front"].live
                       .viewers == 4, 10, "four viewers on one broadcast")
        [broadcast] = streams.broadcasts()
    # Four viewers of 8 parts each (joining within a few frames of each other): the parts
    # were built for the stream, not once per viewer (32).
    assert broadcast.parts_built < 16
    assert all(len(parts) == 8 for parts in received)
    assert len({part for parts in received for part in parts}) <= broadcast.parts_built


async def test_last_viewer_leaving_stops_the_broadcast(front) -> None:
    streams = streams_of(front)
    async with front.client.stream("GET", "/api/front", params={"fps": 5}) as first, \
            front.client.stream("GET", "/api/front", params={"fps": 5}) as second:
        await read_parts(first, 1)
        await read_parts(second, 1)
        [broadcast] = streams.broadcasts()
        assert broadcast.viewers == 2
    await wait_for(lambda: len(streams) == 0 and broadcast.ended, 5, "the broadcast to stop")
    # A new viewer starts a new broadcast and gets pictures again.
    async with front.client.stream("GET", "/api/front", params={"fps": 5}) as again:
        assert len(await read_parts(again, 2)) == 2


async def test_a_viewer_that_stops_reading_holds_up_no_other(front) -> None:
    port = int(str(front.client.base_url).rsplit(":", 1)[1].strip("/"))
    stalled = trio.socket.socket()
    # A tiny receive window: the service's sends to this viewer block within a part or two.
    stalled.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 2048)
    await stalled.connect(("127.0.0.1", port))
    await stalled.send(b"GET /api/front?fps=10&h=432 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await stalled.recv(64)).startswith(b"HTTP/1.1 200")
    camera = front.service.cameras["front"]
    first_index = camera.latest.frame.index
    try:
        with trio.fail_after(60):
            async with front.client.stream("GET", "/api/front",
                                           params={"fps": 10, "h": 432}) as response:
                parts = await read_parts(response, 20)
    finally:
        stalled.close()
    assert len(parts) == 20
    # The reading viewer saw the camera move on: new frames, not one stuck picture.
    assert len(set(parts)) >= 5
    assert camera.latest.frame.index - first_index >= 5
