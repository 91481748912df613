"""A full media disk never stops detection: the camera's ffmpeg, which also writes the
segment cache, runs with its detect pipe alone until the disk has room again (a real tmpfs
filled by a file that is not nvr's)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support import FOOTAGE, camera, poll, service_config, shared_file, start, stop, unavailable

pytestmark = pytest.mark.slow


@pytest.fixture
def small_cache(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs where the config's cache folder is."""
    folder = tmp_path / "media" / "cache"
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs (root needed): {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Fill ``folder``'s filesystem with a file of someone else's, to the last byte."""
    filler = folder / "someone-elses.bin"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    return filler


def test_detection_goes_on_while_the_cache_disk_is_full(
        small_cache: Path, write_config: Callable[..., Path]) -> None:
    cameras = camera("door", shared_file(FOOTAGE), "-readrate 2 -stream_loop -1", 768, 432,
                     "    clips: {enabled: true}\n", roles="detect, clips")
    config, url = service_config(write_config, cameras)

    def door() -> dict:
        return httpx.get(f"{url}/api/stats", timeout=10).json()["door"]

    process = start(config)
    try:
        poll(process, lambda: any(small_cache.glob("door-*.mp4")), 60, "cache segments")
        filler = fill(small_cache)
        # ffmpeg fails to write, is restarted with its detect pipe alone, and frames keep
        # being processed (the rates cover the last 10 s).
        time.sleep(15)
        assert door()["camera_fps"] >= 4 and door()["process_fps"] >= 4  # fps: 5
        filler.unlink()
        # Room again: within the next try (every 10 s) segments are written again.
        written_after = time.time()
        poll(process, lambda: any(path.stat().st_mtime > written_after + 1
                                  for path in small_cache.glob("door-*.mp4")), 60,
             "segments written again")
        assert door()["camera_fps"] > 0
    finally:
        output = stop(process)
    assert "cannot write its segments (" in output and "No space left on device" in output
    assert "writing segments again" in output
    # One restart for the full disk (not a back-off loop of failing runs), none for the room.
    assert output.count("restarting ffmpeg in") == 1, output
    assert "Traceback" not in output
