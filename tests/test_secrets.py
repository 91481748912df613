"""No secret of a config leaves nvr: not through /api/config, ``nvr check-config`` or any log
line, whatever characters it has (docs/compatibility.md#api)."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvr.config import load_config
from nvr.config.secrets import Redactor
from nvr.config.view import config_view
from nvr.log import RedactingFilter
from support import camera, free_port, poll, service_config, start, stop

# What people put in passwords: URL delimiters ffmpeg reads past (@, :), percent signs,
# punctuation, spaces and letters beyond ASCII. Not '/', '?' or '#', which end a URL's user
# info (they must be percent-encoded in a URL) and not '*', the redaction mark itself.
PASSWORD_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="/?#*\\\"'\n")
passwords = st.text(PASSWORD_CHARS, min_size=3, max_size=16).filter(lambda text: text.strip())


def config_with(password: str, env_password: str, mqtt_password: str, token: str) -> dict:
    return {
        "mqtt": {"host": "127.0.0.1", "user": "nvr", "password": mqtt_password},
        "environment_vars": {"FRIGATE_CAMERA_PASSWORD": env_password},
        "cameras": {
            "front": {
                "ffmpeg": {"inputs": [{
                    "path": f"rtsp://admin:{password}@127.0.0.1:8554/live",
                    "roles": ["detect"],
                    "input_args": ["-rtsp_transport", "tcp", "-headers",
                                   f"Authorization: Bearer {token}"],
                }]},
                "width": 640, "height": 360,
            },
            "back": {
                "ffmpeg": {"inputs": [{
                    "path": "http://127.0.0.1/video.cgi?user=admin&pwd={FRIGATE_CAMERA_PASSWORD}",
                    "roles": ["detect"],
                }]},
                "width": 640, "height": 360,
            },
        },
    }


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=passwords, env_password=passwords, mqtt_password=passwords, token=passwords)
def test_no_secret_in_the_config_view_or_a_log_line(tmp_path: Path, password: str,
                                                     env_password: str, mqtt_password: str,
                                                     token: str) -> None:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config_with(password, env_password, mqtt_password, token),
                                   allow_unicode=True))
    config = load_config(path, {})
    redactor = Redactor.of(config, {})
    secrets = [password, env_password, mqtt_password, token]
    view = config_view(config, redactor)
    for text in strings(view):
        for secret in secrets:
            assert secret not in text, (secret, text)
    # The lines nvr logs about its cameras: ffmpeg's command and its own complaints.
    record = logging.LogRecord("nvr.capture", logging.WARNING, __file__, 1,
                               "front: ffmpeg exited: %s: %s", None, None)
    record.args = (" ".join(view["cameras"]["front"]["ffmpeg_cmds"][0]["cmd"].split()),
                   f"[rtsp @ 0x55] method DESCRIBE failed for rtsp://admin:{password}@"
                   f"127.0.0.1:8554/live (Authorization: Bearer {token})")
    RedactingFilter(redactor).filter(record)
    line = record.getMessage()
    for secret in secrets:
        assert secret not in line, (secret, line)


def test_check_config_prints_no_secret(tmp_path: Path) -> None:
    secrets = ["S3cr@t:p%40ss", "env-s3cret", "mqtt-s3cret", "t0ken-value"]
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config_with(*secrets)))
    printed = subprocess.run([sys.executable, "-m", "nvr", "check-config", "-c", str(path)],
                             capture_output=True, text=True, timeout=60, cwd=path.parent)
    assert printed.returncode == 0, printed.stderr
    for secret in secrets:
        assert secret not in printed.stdout + printed.stderr
    shown = yaml.safe_load(printed.stdout)
    assert shown["environment_vars"] == {"FRIGATE_CAMERA_PASSWORD": "*****"}
    assert "rtsp://*****@127.0.0.1:8554/live" in shown["cameras"]["front"]["ffmpeg_cmds"][0]["cmd"]


@pytest.mark.slow
def test_ffmpeg_errors_about_a_camera_are_logged_without_its_password(
        write_config: Callable[..., Path]) -> None:
    # A camera whose RTSP port is closed: ffmpeg names the URL, password and all, each retry.
    password = "S3cr@t:pa%ss"
    closed = free_port()
    cameras = camera("front", f"rtsp://admin:{password}@127.0.0.1:{closed}/live", "''",
                     640, 360, fps=None, snapshots=False)
    config, url = service_config(write_config, cameras)
    process = start(config)
    try:
        poll(process, lambda: any("ffmpeg" in record["message"] for record in
                                  httpx.get(f"{url}/api/logs", timeout=10).json()), 60,
             "ffmpeg's complaint in the log")
        logged = httpx.get(f"{url}/api/logs", timeout=10).text
    finally:
        output = stop(process)
    assert f"rtsp://*****@127.0.0.1:{closed}/live" in output  # named, but not its password
    for text in (output, logged):
        assert password not in text and "pa%ss" not in text and "S3cr" not in text
