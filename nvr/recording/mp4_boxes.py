"""Just enough of the ISO-BMFF (mp4) box structure to name a file's video codec without ffprobe.

Cache segments are written by ffmpeg's mp4 muxer without ``+faststart``: the ``moov`` box
(the index, with the codec description) comes after ``mdat`` and is only written when the
segment is closed, so a segment cut short by a crash has none and is reported unreadable.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Visual sample entry: 8-byte box header, then 78 bytes of fixed fields before its child boxes.
_VISUAL_FIXED = 78
_WIDTH_OFFSET = 24  # width, height: two big-endian u16 at this offset of the fixed fields
# Codec configuration boxes that describe the bitstream (SPS/PPS and the like).
_CONFIG_BOXES = {"avcC", "hvcC", "av1C", "vpcC", "esds"}
MAX_MOOV = 64 << 20


@dataclass(frozen=True)
class VideoSampleEntry:
    """The first video track's sample description: codec fourcc, size and codec config."""

    fourcc: str
    width: int
    height: int
    timescale: int  # of the track (mdhd): the concat demuxer needs it equal across files
    config: bytes  # payload of avcC/hvcC/... (b"" when absent)

    @property
    def h264_profile(self) -> int | None:
        """``profile_idc`` of an H.264 (avc1/avc3) entry, from its avcC; None otherwise."""
        if self.fourcc in ("avc1", "avc3") and len(self.config) > 1:
            return self.config[1]
        return None


def _box_header(head: bytes, remaining: int) -> tuple[str, int, int] | None:
    """``(type, header length, box size)`` of the box starting with ``head`` (its first 16
    bytes or fewer), ``remaining`` bytes before the end; None for a bad or cut-off box."""
    if len(head) < 8:
        return None
    size, kind = struct.unpack_from(">I4s", head)
    header = 8
    if size == 1:  # 64-bit size
        if len(head) < 16:
            return None
        size = struct.unpack_from(">Q", head, 8)[0]
        header = 16
    elif size == 0:  # to the end
        size = remaining
    if size < header or size > remaining:
        return None
    return kind.decode("latin-1"), header, size


def iter_boxes(data: bytes, start: int = 0,
               end: int | None = None) -> Iterator[tuple[str, int, int]]:
    """Boxes in ``data[start:end]`` as (type, payload start, payload end); stops at a bad one."""
    end = len(data) if end is None else end
    pos = start
    while (box := _box_header(data[pos:min(pos + 16, end)], end - pos)) is not None:
        kind, header, size = box
        yield kind, pos + header, pos + size
        pos += size


def _file_boxes(handle: BinaryIO, file_size: int) -> Iterator[tuple[str, int, int]]:
    """Top-level boxes of an open file as (type, payload offset, box end); stops at a bad one."""
    pos = 0
    while True:
        handle.seek(pos)
        box = _box_header(handle.read(min(16, max(file_size - pos, 0))), file_size - pos)
        if box is None:
            return
        kind, header, size = box
        yield kind, pos + header, pos + size
        pos += size


def top_level_boxes(path: Path) -> list[str]:
    """Types of the complete top-level boxes of a file, in file order (``ftyp``, ``moov``...)."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        return [kind for kind, _, _ in _file_boxes(handle, size)]


def read_moov(path: Path) -> bytes | None:
    """Payload of the file's complete ``moov`` box; None if absent, truncated or huge."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        for kind, payload, box_end in _file_boxes(handle, size):
            if kind == "moov":
                if box_end - payload > MAX_MOOV:
                    return None
                handle.seek(payload)
                data = handle.read(box_end - payload)
                return data if len(data) == box_end - payload else None
    return None


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for found, payload, box_end in iter_boxes(data, start, end):
        if found == kind:
            return payload, box_end
    return None


def _path(data: bytes, start: int, end: int, *kinds: str) -> tuple[int, int] | None:
    span: tuple[int, int] | None = (start, end)
    for kind in kinds:
        if span is None:
            return None
        span = _child(data, span[0], span[1], kind)
    return span


def _timescale(moov: bytes, start: int, end: int) -> int:
    """Timescale from an ``mdhd`` payload (version 1 has 64-bit times before it)."""
    if start >= end:
        return 0
    offset = start + (20 if moov[start] == 1 else 12)
    return struct.unpack_from(">I", moov, offset)[0] if offset + 4 <= end else 0


def _sample_entry(moov: bytes, start: int, end: int, timescale: int) -> VideoSampleEntry | None:
    """The first entry of an ``stsd`` payload (version/flags, count, then entries)."""
    entries = list(iter_boxes(moov, start + 8, end))
    if not entries:
        return None
    fourcc, payload, box_end = entries[0]
    if box_end - payload < _VISUAL_FIXED:
        return None
    width, height = struct.unpack_from(">HH", moov, payload + _WIDTH_OFFSET)
    config = b""
    for kind, child, child_end in iter_boxes(moov, payload + _VISUAL_FIXED, box_end):
        if kind in _CONFIG_BOXES:
            config = moov[child:child_end]
            break
    return VideoSampleEntry(fourcc, width, height, timescale, config)


def video_sample_entry(path: Path) -> VideoSampleEntry | None:
    """The sample entry of the file's first video track; None if the file is not a readable mp4."""
    moov = read_moov(path)
    if moov is None:
        return None
    for kind, start, end in iter_boxes(moov):
        if kind != "trak":
            continue
        mdia = _child(moov, start, end, "mdia")
        if mdia is None:
            continue
        hdlr = _child(moov, *mdia, "hdlr")
        # hdlr payload: version/flags (4), pre_defined (4), handler_type (4).
        if hdlr is None or moov[hdlr[0] + 8:hdlr[0] + 12] != b"vide":
            continue
        stsd = _path(moov, *mdia, "minf", "stbl", "stsd")
        mdhd = _child(moov, *mdia, "mdhd")
        if stsd is None or mdhd is None:
            return None
        return _sample_entry(moov, *stsd, _timescale(moov, *mdhd))
    return None
