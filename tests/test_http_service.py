"""The service API over real HTTP on loopback."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import trio

from nvr import __version__
from nvr.config import NvrConfig
from nvr.config.secrets import Redactor
from nvr.log import RECENT_WARNINGS, RedactingFilter
from support import MINIMAL_CAMERA

CAMERA_STATS_KEYS = {"camera_fps", "process_fps", "skipped_fps", "detection_fps", "pid",
                     "capture_pid"}

SECRET_CONFIG = """
mqtt: {host: 127.0.0.1, user: nvr, password: mqtt-secret}
detectors: {cpu1: {type: cpu}}
cameras:
  front:
    ffmpeg:
      inputs:
        - path: rtsp://admin:cam-secret@127.0.0.1:554/stream1
          roles: [detect]
    width: 640
    height: 360
  back:
    ffmpeg:
      inputs:
        - path: http://127.0.0.1/video.cgi?user=admin&password=cam-secret
          roles: [detect]
    width: 640
    height: 360
"""


async def test_health_and_version(media_config: Callable[[str], NvrConfig], serve) -> None:
    client = (await serve(media_config(MINIMAL_CAMERA))).client

    health = await client.get("/api/")
    assert health.status_code == 200 and "Alive and healthy" in health.text
    version = await client.get("/api/version")
    assert version.status_code == 200
    assert re.fullmatch(rf"{re.escape(__version__)}-([0-9a-f]{{7}}|dev)", version.text)
    assert version.headers["content-type"].startswith("text/plain")


async def test_config_is_json_without_secrets(media_config, serve) -> None:
    client = (await serve(media_config(SECRET_CONFIG))).client

    response = await client.get("/api/config")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "secret" not in response.text
    body = response.json()
    assert set(body["cameras"]) == {"front", "back"}
    assert body["mqtt"]["topic_prefix"] == "frigate" and "password" not in body["mqtt"]
    front_cmd = body["cameras"]["front"]["ffmpeg_cmds"][0]["cmd"]
    assert "rtsp://*****@127.0.0.1:554/stream1" in front_cmd
    assert "user=*****&password=*****" in body["cameras"]["back"]["ffmpeg_cmds"][0]["cmd"]
    assert body["cameras"]["front"]["objects"]["track"] == ["person"]


async def test_stats_shape(media_config, serve) -> None:
    config = media_config(SECRET_CONFIG)
    client = (await serve(config)).client

    response = await client.get("/api/stats")

    assert response.headers["content-type"] == "application/json"
    stats = response.json()
    # Home Assistant takes every unknown top-level key for a camera.
    assert set(stats) == {"front", "back", "detection_fps", "detectors", "service"}
    for name in ("front", "back"):
        assert set(stats[name]) == CAMERA_STATS_KEYS
        assert all(isinstance(stats[name][key], float) for key in CAMERA_STATS_KEYS
                   if key.endswith("_fps"))
    assert isinstance(stats["detection_fps"], float)
    assert set(stats["detectors"]["cpu1"]) == {"inference_speed", "detection_start", "pid"}
    service = stats["service"]
    assert isinstance(service["uptime"], int) and service["uptime"] >= 0
    assert service["version"] == (await client.get("/api/version")).text
    assert set(service["storage"]) == {config.media.clips, config.media.recordings,
                                       config.media.cache}
    for usage in service["storage"].values():
        assert set(usage) == {"total", "used", "free", "mount_type"}
        assert usage["total"] > 0 and 0 <= usage["free"] <= usage["total"]
        assert usage["mount_type"]


async def test_unknown_paths_and_methods_get_json_errors(media_config, serve) -> None:
    client = (await serve(media_config(MINIMAL_CAMERA))).client

    missing = await client.get("/api/no/such/thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json() == {"success": False, "message": "Not found: /api/no/such/thing"}

    post = await client.post("/api/stats")
    assert post.status_code == 405 and post.headers["content-type"] == "application/json"


async def test_successful_responses_carry_front_door_headers(media_config, serve) -> None:
    client = (await serve(media_config(MINIMAL_CAMERA))).client

    ok = await client.get("/api/stats", headers={"Origin": "http://127.0.0.1:8123"})
    assert ok.headers["cache-control"] == "no-store"
    # No web page of another origin may read the API unless the config names it.
    assert "access-control-allow-origin" not in ok.headers
    assert "cache-control" not in (await client.get("/api/nope")).headers


async def test_only_the_configured_origins_may_read_the_api(media_config, serve) -> None:
    config = media_config(MINIMAL_CAMERA)
    config = config.model_copy(update={"web": config.web.model_copy(
        update={"cors_origins": ["http://127.0.0.1:8123"]})})
    client = (await serve(config)).client
    allowed = await client.get("/api/config", headers={"Origin": "http://127.0.0.1:8123"})
    assert allowed.headers["access-control-allow-origin"] == "http://127.0.0.1:8123"
    assert "Origin" in allowed.headers["vary"]
    other = await client.get("/api/config", headers={"Origin": "http://127.0.0.1:9999"})
    assert "access-control-allow-origin" not in other.headers


async def test_a_websocket_to_an_unknown_path_gets_a_json_404(media_config, serve) -> None:
    # Frigate 0.8's UI opened /ws; nvr has none: a plain 404, not a 500 with a traceback.
    client = (await serve(media_config(MINIMAL_CAMERA))).client
    host, port = client.base_url.host, client.base_url.port
    stream = await trio.open_tcp_stream(host, port)
    await stream.send_all(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    answer = b""
    with trio.fail_after(10):
        while b"}" not in answer:
            answer += await stream.receive_some(4096)
    await stream.aclose()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404")
    assert b'"Not found: /ws"' in body


async def test_recent_warnings_are_served_with_credentials_redacted(media_config, serve) -> None:
    client = (await serve(media_config(MINIMAL_CAMERA))).client
    redacting = RedactingFilter(Redactor())  # as nvr run's logging has it on every handler
    RECENT_WARNINGS.addFilter(redacting)
    logging.getLogger().addHandler(RECENT_WARNINGS)
    try:
        logging.getLogger("nvr.test").warning("ffmpeg failed on rtsp://admin:hunter2@127.0.0.1/x")
        logging.getLogger("nvr.test").info("not a warning")
    finally:
        logging.getLogger().removeHandler(RECENT_WARNINGS)
        RECENT_WARNINGS.removeFilter(redacting)
    [record] = [r for r in (await client.get("/api/logs")).json() if r["logger"] == "nvr.test"]
    assert record["level"] == "warning" and "hunter2" not in record["message"]
    assert record["message"] == "ffmpeg failed on rtsp://*****@127.0.0.1/x"


async def test_tracked_objects_of_a_camera(media_config, serve) -> None:
    client = (await serve(media_config(MINIMAL_CAMERA))).client
    objects = await client.get("/api/back/objects")
    assert objects.status_code == 200 and objects.json() == []  # nothing seen yet
    assert (await client.get("/api/nope/objects")).status_code == 404


async def test_the_web_ui_is_served_from_the_package_only(media_config, serve) -> None:
    client = (await serve(media_config(MINIMAL_CAMERA))).client
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    script = await client.get("/ui/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for escape in ("/ui/%2e%2e/pages.py", "/ui/..%2fpages.py", "/ui/%2e%2e/%2e%2e/config/view.py"):
        assert (await client.get(escape)).status_code == 404, escape
