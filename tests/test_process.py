"""``nvr run`` as a real process: serving, clean shutdown on signals, start-up failures."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from nvr.config.ffmpeg import ffmpeg_executable, ffmpeg_version
from nvr.version import version_string
from support import FOOTAGE, MINIMAL_CAMERA, SSD, SSD_LABELS, free_port, shared_file


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nvr", "run", "-c", str(config), *args],
        cwd=config.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_until_serving(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("nvr did not start serving within 30 s")


def best_image_shows_something(url: str) -> bool:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    return max(Image.open(io.BytesIO(response.content)).convert("L").getextrema()) > 32


@pytest.fixture
def service_config(write_config: Callable[..., Path], tmp_path: Path) -> tuple[Path, str]:
    port = free_port()
    path = write_config(f"""
web: {{host: 127.0.0.1, port: {port}}}
media: {{clips: media/clips, recordings: media/recordings, cache: media/cache}}
model: {{path: "{shared_file(SSD)}", labelmap_path: "{shared_file(SSD_LABELS)}"}}
detectors: {{cpu: {{type: cpu, num_threads: 1}}}}
""" + MINIMAL_CAMERA)
    return path, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly(service_config: tuple[Path, str],
                                   stop_signal: signal.Signals) -> None:
    path, url = service_config
    process = start(path)
    wait_until_serving(process, f"{url}/api/")
    # An open streaming client must not hold the shutdown up.
    with httpx.Client(base_url=url) as client:
        assert client.get("/api/stats").status_code == 200
        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=10)

    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert f"received {stop_signal.name}, shutting down" in output
    assert (path.parent / "media" / "clips").is_dir()


def test_port_in_use_is_a_clear_startup_error(service_config: tuple[Path, str]) -> None:
    path, url = service_config
    first = start(path)
    try:
        wait_until_serving(first, f"{url}/api/")
        second = start(path)
        output, _ = second.communicate(timeout=30)
        assert second.returncode == 1
        # Said before any ffmpeg, model or camera is looked at: only the config's warnings
        # come first.
        *before, line = output.splitlines()
        assert all(" nvr.config " in earlier for earlier in before), before
        assert f"cannot listen on {url.removeprefix('http://')} (web.host, web.port): " in line
        assert "Address already in use" in line
    finally:
        first.terminate()
        first.communicate(timeout=10)


@pytest.mark.slow
def test_a_frigate_config_without_a_model_block_runs_on_the_shipped_model(
        write_config: Callable[..., Path]) -> None:
    # Frigate 0.8's documented config, unchanged but for what points off this machine: the
    # camera is a file played in real time, the broker is on loopback, and nvr's own web and
    # media keys replace Frigate's fixed port and folders. No model: Frigate's image has one.
    port = free_port()
    path = write_config(f"""
mqtt:
  host: 127.0.0.1
  user: mqtt_user
  password: "{{FRIGATE_MQTT_PASSWORD}}"
environment_vars:
  FRIGATE_MQTT_PASSWORD: secret
cameras:
  back:
    ffmpeg:
      inputs:
        - path: {shared_file(FOOTAGE)}
          input_args: -re -stream_loop -1
          roles:
            - detect
            - rtmp
    width: 768
    height: 432
    fps: 5
web: {{host: 127.0.0.1, port: {port}}}
media: {{clips: media/clips, recordings: media/recordings, cache: media/cache}}
""")
    url = f"http://127.0.0.1:{port}"
    process = start(path)
    try:
        wait_until_serving(process, f"{url}/api/")
        # The default detector is Frigate's Edge TPU; without one it runs on the CPU. The best
        # person image is black until someone was detected.
        deadline = time.monotonic() + 90
        while not best_image_shows_something(f"{url}/api/back/person/best.jpg"):
            assert time.monotonic() < deadline, "no person detected within 90 s"
            time.sleep(1)
        stats = httpx.get(f"{url}/api/stats", timeout=5).json()
        assert stats["detectors"]["coral"]["inference_speed"] > 0
        assert stats["back"]["camera_fps"] > 0
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Edge TPU 'usb' not available" in output and "running the detector on the CPU" in output
    assert "Traceback" not in output


def test_ffmpeg_path_names_the_binary_every_ffmpeg_runs(write_config: Callable[..., Path],
                                                        tmp_path: Path) -> None:
    binary = tmp_path / "my-ffmpeg"
    binary.symlink_to(ffmpeg_executable())
    port = free_port()
    path = write_config(f"""
web: {{host: 127.0.0.1, port: {port}}}
media: {{clips: media/clips, recordings: media/recordings, cache: media/cache}}
ffmpeg: {{path: ./my-ffmpeg}}
detect: {{enabled: false}}
cameras:
  pattern:
    ffmpeg:
      inputs:
        - {{path: "testsrc2=size=320x240:rate=5", input_args: -re -f lavfi, roles: [detect]}}
    width: 320
    height: 240
""")
    url = f"http://127.0.0.1:{port}"
    process = start(path)
    try:
        wait_until_serving(process, f"{url}/api/")
        deadline = time.monotonic() + 30
        while not (stats := httpx.get(f"{url}/api/stats", timeout=5).json())["pattern"][
                "camera_fps"]:
            assert time.monotonic() < deadline, "no frames within 30 s"
            time.sleep(0.5)
        running = Path(f"/proc/{stats['pattern']['capture_pid']}/cmdline").read_bytes()
        assert running.split(b"\0")[0] == bytes(binary)
        assert b"\0-threads\x001\0-i\0" in running  # a small detect stream: one thread
        [command] = httpx.get(f"{url}/api/config", timeout=5).json()["cameras"]["pattern"][
            "ffmpeg_cmds"]
        assert command["cmd"].startswith(f"{binary} ")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    version = ffmpeg_version(ffmpeg_executable())
    assert f"ffmpeg {version}: {binary} (ffmpeg.path)" in output
    assert "pattern: detect input decoded on 1 thread (320x240 is at most 2560x1440)" in output


def test_log_level_option(service_config: tuple[Path, str]) -> None:
    path, url = service_config
    process = start(path, "--log-level", "warning")
    wait_until_serving(process, f"{url}/api/")
    process.terminate()
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "serving on" not in output  # an INFO line, hidden at WARNING


def test_version_option() -> None:
    nvr = str(Path(sys.executable).with_name("nvr"))
    for command in ([nvr], [sys.executable, "-m", "nvr"]):
        result = subprocess.run([*command, "--version"], capture_output=True, text=True,
                                timeout=60, cwd="/")
        assert result.returncode == 0
        assert result.stdout.strip() == f"nvr {version_string()}"
