"""Static media, as Frigate 0.8's nginx serves it (docs/compatibility.md#media): event clips and
snapshots under
``/clips/``, 24/7 segments and JSON directory listings under ``/recordings/``.

Only media files are reachable. ``/clips/<name>`` serves ``<camera>-<id>.mp4|.jpg`` files
lying directly in ``media.clips`` and nothing else (never the events database, its journals
or the ``best/`` folder); ``/clips/`` lists those files. ``/recordings/…`` serves ``.mp4``
files and lists directories (directories and ``.mp4`` files). A path is refused (404) if it
holds a hidden or ``..`` segment or an encoded ``/``, ``\\`` or NUL, or if it leads, after
following symlinks, outside its media folder or to anything but a regular file or a
directory. Listings leave out whatever could not be served.

Files carry ``Content-Length``, ``Last-Modified``, ``ETag`` and ``Accept-Ranges: bytes``
and honour one ``Range`` (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``: 206, or 416 when it
starts past the end); several ranges, other units or malformed ranges get the whole file
(200). ``If-Range`` (ETag or Last-Modified) is honoured. Bodies are streamed in chunks read
by worker threads; listings and stats also run in worker threads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio
from quart import Blueprint, Response, request
from werkzeug.exceptions import NotFound
from werkzeug.http import http_date

from nvr.events.media import parse_event_file_name
from nvr.web.context import error_response, service

log = logging.getLogger(__name__)

media = Blueprint("media", __name__)

CHUNK_SIZE = 256 * 1024
CLIP_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg"}
RECORDING_TYPES = {".mp4": "video/mp4"}
# Percent-encoded "/", "\" and NUL: a path segment may not hide a separator.
_ENCODED_SEPARATOR = re.compile(rb"%(2f|5c|00)", re.IGNORECASE)
_RANGE_SPEC = re.compile(r"\s*([0-9]*)\s*-\s*([0-9]*)\s*")
_BIG = 10**18  # stands for any longer number in a Range header


@dataclass(frozen=True)
class MediaFile:
    """A regular file found inside a media folder (``path`` has no symlinks left)."""

    path: Path
    size: int
    mtime: float
    device: int
    inode: int

    @property
    def etag(self) -> str:
        """nginx's ETag: hexadecimal mtime and size."""
        return f'"{int(self.mtime):x}-{self.size:x}"'


@dataclass(frozen=True)
class Entry:
    """One line of a directory listing."""

    name: str
    directory: bool
    mtime: float
    size: int

    def as_json(self) -> dict[str, object]:
        """The entry as nginx's ``autoindex_format json`` writes it."""
        item: dict[str, object] = {
            "name": self.name,
            "type": "directory" if self.directory else "file",
            "mtime": http_date(self.mtime),
        }
        if not self.directory:
            item["size"] = self.size
        return item


class UnsatisfiableRange(Exception):
    """The requested range starts past the end of the file."""


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The byte range ``[start, end)`` a ``Range`` header asks of a ``size``-byte file.

    None means the whole file: no header, another unit, a malformed or reversed range, or
    several ranges (answered with the whole file rather than multipart/byteranges).
    Raises :class:`UnsatisfiableRange` for a range starting at or past the end, or an empty
    suffix.
    """
    if header is None:
        return None
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges = [spec for spec in specs.split(",") if spec.strip()]
    if len(ranges) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(ranges[0])
    if match is None:
        return None
    first, last = (_number(text) for text in match.groups())
    if first is None:
        if last is None:
            return None
        if last == 0 or size == 0:
            raise UnsatisfiableRange
        return max(0, size - last), size
    if last is not None and last < first:
        return None
    if first >= size:
        raise UnsatisfiableRange
    return first, size if last is None else min(last + 1, size)


def _number(text: str) -> int | None:
    if not text:
        return None
    return int(text) if len(text) <= 18 else _BIG


@dataclass(frozen=True)
class MediaFolder:
    """A media folder and the events database path, which is never served nor listed.

    In a ``flat`` folder (clips), only files directly inside are found, even through a
    symlink. The methods touch the disk: call them in a worker thread.
    """

    root: Path
    database: str | None
    flat: bool = False

    def _inside(self, path: Path, base: Path) -> bool:
        if self.flat:
            return path == base or path.parent == base
        return path.is_relative_to(base)

    def forbidden(self) -> set[Path]:
        """The events database and its journals, wherever the config puts them."""
        if not self.database:
            return set()
        database = Path(self.database).resolve()
        return {database.with_name(database.name + suffix)
                for suffix in ("", "-wal", "-shm", "-journal")}

    def find(self, parts: Sequence[str]) -> tuple[Path, os.stat_result]:
        """``root/parts`` with symlinks resolved, and its stat; NotFound if missing, not a
        regular file or directory, outside the folder, or the database."""
        try:
            base = self.root.resolve(strict=True)
            target = base.joinpath(*parts).resolve(strict=True)
            if not self._inside(target, base) or target in self.forbidden():
                raise NotFound()
            info = target.stat()
        except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop
            raise NotFound() from None
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            raise NotFound()
        return target, info

    def listing(self, parts: Sequence[str], keep: Callable[[str, bool], bool]) -> list[Entry]:
        """The entries of directory ``root/parts`` that ``keep(name, is_dir)`` accepts: no
        hidden names, no symlinks leaving the folder, only files and directories, never the
        database; directories first, then by name, as nginx sorts. NotFound if ``parts`` is
        not a directory."""
        directory, info = self.find(parts)
        if not stat.S_ISDIR(info.st_mode):
            raise NotFound()
        base = self.root.resolve(strict=True)
        forbidden = self.forbidden()
        entries = []
        with os.scandir(directory) as items:
            for item in items:
                name = item.name
                if name.startswith(".") or not name.isprintable():
                    continue
                try:
                    path = Path(item.path)
                    if item.is_symlink():
                        path = path.resolve(strict=True)
                        if not self._inside(path, base):
                            continue
                    found = path.stat()
                except (OSError, RuntimeError):
                    continue
                is_dir = stat.S_ISDIR(found.st_mode)
                if not (is_dir or stat.S_ISREG(found.st_mode)) or path in forbidden:
                    continue
                if keep(name, is_dir):
                    entries.append(Entry(name, is_dir, found.st_mtime, found.st_size))
        entries.sort(key=lambda entry: (not entry.directory, entry.name))
        return entries


def _clips() -> MediaFolder:
    config = service().config
    return MediaFolder(Path(config.media.clips), config.database.path, flat=True)


def _recordings() -> MediaFolder:
    config = service().config
    return MediaFolder(Path(config.media.recordings), config.database.path)


def _media_file(path: Path, info: os.stat_result) -> MediaFile:
    return MediaFile(path, info.st_size, info.st_mtime, info.st_dev, info.st_ino)


def _listed_clip(name: str, is_dir: bool) -> bool:
    return not is_dir and parse_event_file_name(name) is not None


def _listed_recording(name: str, is_dir: bool) -> bool:
    return is_dir or Path(name).suffix in RECORDING_TYPES


def _listing_response(entries: list[Entry]) -> Response:
    body = json.dumps([entry.as_json() for entry in entries], separators=(", ", ": "))
    return Response(body, content_type="application/json")


def _refuse_encoded_separators() -> None:
    if _ENCODED_SEPARATOR.search(request.scope.get("raw_path") or b""):
        raise NotFound()


def _open_same_file(file: MediaFile) -> int:
    """A descriptor of ``file``, refusing anything that replaced it since it was found."""
    descriptor = os.open(file.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(descriptor)
        if (not stat.S_ISREG(info.st_mode)
                or (info.st_dev, info.st_ino) != (file.device, file.inode)):
            raise FileNotFoundError(f"{file.path} was replaced")
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


async def _chunks(file: MediaFile, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of ``file``, read in worker threads ``CHUNK_SIZE`` at a time.

    The file is opened only when the body is sent, so a response never sent leaks nothing.
    """
    descriptor = await trio.to_thread.run_sync(_open_same_file, file)
    try:
        offset = start
        while offset < end:
            chunk = await trio.to_thread.run_sync(
                os.pread, descriptor, min(CHUNK_SIZE, end - offset), offset)
            if not chunk:
                log.warning("%s shrank to %d bytes while being sent", file.path, offset)
                return
            offset += len(chunk)
            yield chunk
    finally:
        os.close(descriptor)


async def _empty() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover


def file_response(file: MediaFile, content_type: str) -> Response:
    """``file`` (or the range asked for) with nginx's headers; an empty body for HEAD."""
    headers = {
        "Accept-Ranges": "bytes",
        "Last-Modified": http_date(file.mtime),
        "ETag": file.etag,
    }
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() not in (file.etag, headers["Last-Modified"]):
        range_header = None
    try:
        byte_range = requested_range(range_header, file.size)
    except UnsatisfiableRange:
        response = error_response(416, "Requested range not satisfiable")
        response.headers["Content-Range"] = f"bytes */{file.size}"
        return response
    start, end = byte_range or (0, file.size)
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{file.size}"
    headers["Content-Length"] = str(end - start)
    body = _empty() if request.method == "HEAD" else _chunks(file, start, end)
    response = Response(body, status=status, headers=headers, content_type=content_type)
    response.timeout = None  # a large recording over a slow link takes its time
    return response


@media.get("/clips/", merge_slashes=False)
async def clips_listing() -> Response:
    """The event clips and snapshots in ``media.clips`` (files only, as JSON)."""
    _refuse_encoded_separators()
    entries = await trio.to_thread.run_sync(_clips().listing, (), _listed_clip)
    return _listing_response(entries)


@media.get("/clips/<name>", merge_slashes=False)
async def clip(name: str) -> Response:
    """An event clip (``<camera>-<id>.mp4``) or snapshot (``<camera>-<id>.jpg``)."""
    _refuse_encoded_separators()
    if parse_event_file_name(name) is None:
        raise NotFound()
    path, info = await trio.to_thread.run_sync(_clips().find, (name,))
    content_type = CLIP_TYPES.get(path.suffix)
    if not stat.S_ISREG(info.st_mode) or content_type is None:
        raise NotFound()
    return file_response(_media_file(path, info), content_type)


@media.get("/recordings", merge_slashes=False)
@media.get("/recordings/", merge_slashes=False)
@media.get("/recordings//", merge_slashes=False)  # HA 1.0.x lists the root so (nginx merges)
@media.get("/recordings/<path:subpath>", merge_slashes=False)
async def recordings(subpath: str = "") -> Response:
    """A JSON listing of a recordings directory (with or without a trailing slash) or a
    segment ``YYYY-MM/DD/HH/<camera>/MM.SS.mp4``.

    Doubled slashes inside the path are merged, as nginx does; but other than
    ``/recordings//`` (the root, as HA 1.0.x asks for it), a path whose part after
    ``/recordings/`` starts with a slash is not found (never redirected). A file asked for
    with a trailing slash is not found.
    """
    _refuse_encoded_separators()
    parts = [part for part in subpath.split("/") if part]
    if any(part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        raise NotFound()
    folder = _recordings()
    path, info = await trio.to_thread.run_sync(folder.find, parts)
    if stat.S_ISDIR(info.st_mode):
        entries = await trio.to_thread.run_sync(folder.listing, parts, _listed_recording)
        return _listing_response(entries)
    if subpath.endswith("/") or path.suffix not in RECORDING_TYPES:
        raise NotFound()
    return file_response(_media_file(path, info), RECORDING_TYPES[path.suffix])
