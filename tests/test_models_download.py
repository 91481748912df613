"""``nvr models download`` against a loopback HTTP server serving the ../shared files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nvr.detection.download import DEFAULT_MODEL_FILES
from support import shared_file

MODEL, LABELS = DEFAULT_MODEL_FILES


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server over a folder holding the files as their public URLs name them."""
    root = tmp_path / "mirror"
    root.mkdir()
    with zipfile.ZipFile(root / MODEL.url.rsplit("/", 1)[1], "w") as archive:
        archive.write(shared_file(f"models/{MODEL.name}"), "detect.tflite")
        archive.write(shared_file("models/coco_labelmap_with_background.txt"), "labelmap.txt")
    (root / "coco_labels.txt").write_bytes(shared_file(f"models/{LABELS.name}").read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def download(dest: Path, mirror: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nvr", "models", "download", "--dest", str(dest),
         "--mirror", mirror],
        capture_output=True, text=True, timeout=120, cwd=dest.parent,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_installs_checked_files(served: tuple[str, Path], tmp_path: Path) -> None:
    mirror, _ = served
    dest = tmp_path / "models"

    result = download(dest, mirror)

    assert result.returncode == 0, result.stderr
    assert sha256(dest / MODEL.name) == MODEL.sha256
    assert sha256(dest / LABELS.name) == LABELS.sha256
    assert "100%" in result.stderr  # the progress bar reached the end
    assert f"model: {dest / MODEL.name}" in result.stdout
    assert (f"set model.path: {dest / MODEL.name} and model.labelmap_path: {dest / LABELS.name}"
            in result.stdout)
    assert {(dest / name).stat().st_mode & 0o777 for name in (MODEL.name, LABELS.name)} == {0o644}
    assert sorted(path.name for path in dest.iterdir()) == sorted([MODEL.name, LABELS.name])


def test_wrong_checksum_leaves_no_file(served: tuple[str, Path], tmp_path: Path) -> None:
    mirror, root = served
    (root / "coco_labels.txt").write_text("0  person\n1  not the real labels\n")
    dest = tmp_path / "models"

    result = download(dest, mirror)

    assert result.returncode == 1
    assert f"{LABELS.name}: sha256" in result.stderr and "does not match" in result.stderr
    assert "Traceback" not in result.stderr
    # The model (checked, fetched first) stays; of the labels nothing, not even a temporary.
    assert sorted(path.name for path in dest.iterdir()) == [MODEL.name]


def test_archive_without_the_model_and_unreachable_mirror(served: tuple[str, Path],
                                                         tmp_path: Path) -> None:
    mirror, root = served
    with zipfile.ZipFile(root / MODEL.url.rsplit("/", 1)[1], "w") as archive:
        archive.writestr("other.tflite", b"nothing")

    result = download(tmp_path / "models", mirror)
    assert result.returncode == 1 and "no detect.tflite in the archive" in result.stderr

    result = download(tmp_path / "models", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"nvr: cannot download http://127.0.0.1:9/{MODEL.url.rsplit('/', 1)[1]}: "
        f"[Errno 111] Connection refused; give --mirror URL (a server of "
        f"{MODEL.url.rsplit('/', 1)[1]}), or put {MODEL.name} in {tmp_path / 'models'} by "
        "hand; nvr needs neither: it ships this model")
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
