"""``nvr models download``: fetch the default SSD model and its labels, checked by sha256.

A file is written under a temporary name in the destination folder and renamed only once its
checksum is right, so a failed or tampered download never leaves a file behind.
"""

from __future__ import annotations

import hashlib
import io
import sys
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.error import HTTPError

from nvr.files import write_atomically

CHUNK = 1 << 16


@dataclass(frozen=True)
class ModelFile:
    """A file to install as ``name``, fetched from ``url`` (from ``member`` if it is a zip)."""

    name: str
    url: str
    sha256: str
    member: str | None = None


DEFAULT_MODEL_FILES = (
    ModelFile(
        "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite",
        "https://storage.googleapis.com/download.tensorflow.org/models/tflite/"
        "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.zip",
        "e4b118e5e4531945de2e659742c7c590f7536f8d0ed26d135abcfe83b4779d13",
        member="detect.tflite",
    ),
    ModelFile(
        "coco_labels.txt",
        "https://raw.githubusercontent.com/google-coral/test_data/master/coco_labels.txt",
        "dc183f003fc753c4c43fae6fdf7f387559449573f13fa32e517fb7453fd380f1",
    ),
)


class DownloadError(Exception):
    """A model file could not be fetched or did not match its checksum."""


Progress = Callable[[str, int, int | None], None]


def print_progress(name: str, done: int, total: int | None, out: IO[str] = sys.stderr) -> None:
    """A one-line progress bar: ``name [#####     ] 45% 1.9/4.2 MB``."""
    if total:
        filled = 30 * done // total
        bar = f"[{'#' * filled}{' ' * (30 - filled)}] {100 * done // total:3d}%"
        out.write(f"\r{name} {bar} {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        out.write(f"\r{name} {done / 1e6:.1f} MB")
    if total is not None and done >= total:
        out.write("\n")
    out.flush()


def _fetch(url: str, name: str, progress: Progress, hint: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            body = io.BytesIO()
            while chunk := response.read(CHUNK):
                body.write(chunk)
                progress(name, body.tell(), total)
    except OSError as error:
        # URLError's text wraps its reason in <urlopen error ...>; HTTPError's names the status.
        reason = error if isinstance(error, HTTPError) else getattr(error, "reason", error)
        raise DownloadError(f"cannot download {url}: {reason}; {hint}") from None
    return body.getvalue()


def _payload(file: ModelFile, data: bytes) -> bytes:
    if file.member is None:
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(file.member)
    except (zipfile.BadZipFile, KeyError) as error:
        raise DownloadError(f"{file.url}: no {file.member} in the archive ({error})") from None


def install(file: ModelFile, dest: Path, *, mirror: str | None = None,
            progress: Progress = print_progress) -> Path:
    """Download ``file`` into ``dest`` (from ``mirror``/<file name of its URL> if given)."""
    served_name = file.url.rsplit("/", 1)[1]
    url = f"{mirror.rstrip('/')}/{served_name}" if mirror else file.url
    hint = (f"give --mirror URL (a server of {served_name}), or put {file.name} in {dest} "
            "by hand; nvr needs neither: it ships this model")
    payload = _payload(file, _fetch(url, file.name, progress, hint))
    digest = hashlib.sha256(payload).hexdigest()
    if digest != file.sha256:
        raise DownloadError(f"{file.name}: sha256 {digest} does not match the expected "
                            f"{file.sha256}; nothing was written")
    dest.mkdir(parents=True, exist_ok=True)
    write_atomically(dest / file.name, payload)
    return dest / file.name


def download_reference_model(dest: Path, *, mirror: str | None = None,
                             progress: Progress = print_progress) -> list[Path]:
    """Install the default SSD model and its labels into ``dest``; returns their paths."""
    return [install(file, dest, mirror=mirror, progress=progress) for file in DEFAULT_MODEL_FILES]
