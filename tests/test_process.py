"""``nvr run`` as a real process: serving, clean shutdown on signals, start-up failures."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from nvr.version import version_string
from support import MINIMAL_CAMERA, SSD, SSD_LABELS, free_port, shared_file


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
        assert f"cannot listen on {url.removeprefix('http://')}" in output
        assert "Traceback" not in output
    finally:
        first.terminate()
        first.communicate(timeout=10)


def test_missing_model_stops_start_up_saying_where_to_get_one(
        write_config: Callable[..., Path]) -> None:
    path = write_config(f"""
web: {{host: 127.0.0.1, port: {free_port()}}}
media: {{clips: media/clips, recordings: media/recordings, cache: media/cache}}
""" + MINIMAL_CAMERA)
    process = start(path)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2, output
    model = path.parent / "models" / Path(SSD).name
    assert f"model.path: no detector model at {model}" in output
    assert 'run "nvr models download"' in output
    assert "Traceback" not in output


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
